/* husk pull's progress (registry-progress.h). */
#include "cmd/husk-pull/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/xalloc.h"

#define BAR 20

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void draw_item(const struct progress_item *it, int64_t now)
{
	int64_t done = __atomic_load_n(&it->done, __ATOMIC_RELAXED);
	int pct = it->size > 0 ? (int)(done * 100 / it->size) : 100;
	double secs = (double)(now - it->start_ns) / 1e9;
	double rate = secs > 0 ? (double)done / secs / 1e6 : 0;
	char bar[BAR + 1];

	for (int i = 0; i < BAR; i++)
		bar[i] = i < pct * BAR / 100 ? '=' : ' ';
	bar[BAR] = '\0';
	/* kB for a layer under a megabyte */
	bool kb = it->size < 1000000;
	double unit = kb ? 1e3 : 1e6;
	fprintf(stderr, "\r\033[Ksha256:%s [%s] %3d%% %8.2f/%.2f %s %7.1f MB/s\n", it->hex, bar,
		pct, (double)done / unit, (double)it->size / unit, kb ? "kB" : "MB", rate);
}

/* Up to the first line drawn, then every item again (lock held). */
static void redraw(struct progress *pg)
{
	int64_t now = now_ns();

	if (pg->drawn)
		fprintf(stderr, "\033[%zuA", pg->drawn);
	for (size_t i = 0; i < pg->n; i++)
		draw_item(pg->items[i], now);
	pg->drawn = pg->n;
	fflush(stderr);
}

static void *tick(void *data)
{
	struct progress *pg = data;

	pthread_mutex_lock(&pg->lock);
	while (!pg->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pg->wake, &pg->lock, &until);
		redraw(pg);
	}
	pthread_mutex_unlock(&pg->lock);
	return NULL;
}

void progress_init(struct progress *pg, bool quiet)
{
	*pg = (struct progress){.quiet = quiet, .tty = !quiet && isatty(2)};
	pthread_mutex_init(&pg->lock, NULL);
	pthread_cond_init(&pg->wake, NULL);
}

int64_t *progress_add(void *data, const char *hex, int64_t size)
{
	struct progress *pg = data;
	struct progress_item *it = xzalloc(sizeof(*it));

	snprintf(it->hex, sizeof(it->hex), "%.12s", hex);
	it->size = size;
	it->start_ns = now_ns();
	pthread_mutex_lock(&pg->lock);
	pg->items = xrealloc(pg->items, (pg->n + 1) * sizeof(*pg->items));
	pg->items[pg->n++] = it;
	if (!pg->tty && !pg->quiet)
		fprintf(stderr, "Copying blob sha256:%s (%lld bytes)\n", it->hex, (long long)size);
	if (pg->tty && !pg->ticking)
		pg->ticking = pthread_create(&pg->ticker, NULL, tick, pg) == 0;
	pthread_mutex_unlock(&pg->lock);
	return &it->done;
}

void progress_wait(void *data, const char *hex, int secs)
{
	struct progress *pg = data;

	pthread_mutex_lock(&pg->lock);
	fprintf(stderr,
		"%ssha256:%.12s: another pull or launch is fetching this layer; waiting for "
		"it %d s at most\n",
		pg->tty ? "\r\033[K" : "", hex, secs);
	pg->drawn = 0; /* the bars go below */
	pthread_mutex_unlock(&pg->lock);
}

void progress_finish(struct progress *pg)
{
	pthread_mutex_lock(&pg->lock);
	pg->stop = true;
	pthread_cond_signal(&pg->wake);
	pthread_mutex_unlock(&pg->lock);
	if (pg->ticking)
		pthread_join(pg->ticker, NULL);
	if (pg->tty && pg->n)
		redraw(pg);
	for (size_t i = 0; i < pg->n; i++)
		free(pg->items[i]);
	free(pg->items);
	pthread_mutex_destroy(&pg->lock);
	pthread_cond_destroy(&pg->wake);
	*pg = (struct progress){0};
}

/* What husk pull shows of its downloads: on a terminal, a bar per layer
 * (size, percentage, rate) redrawn five times a second; otherwise a line
 * per layer as it starts; with -q nothing. */
#ifndef HUSK_CMD_HUSK_PULL_PROGRESS_H
#define HUSK_CMD_HUSK_PULL_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct progress_item {
	char hex[13]; /* the digest's first 12 hex digits */
	int64_t size;
	int64_t done; /* atomic: the download thread adds to it */
	int64_t start_ns;
};

struct progress {
	bool tty, quiet;
	pthread_mutex_t lock;
	struct progress_item **items;
	size_t n, drawn; /* items, and lines on the screen */
	pthread_t ticker;
	bool ticking, stop;
	pthread_cond_t wake;
};

void progress_init(struct progress *pg, bool quiet);
/* A layer's download starts: the counter of its item, which the download
 * adds to (registry.h's reg_progress.layer). */
int64_t *progress_add(void *pg, const char *hex, int64_t size);
/* Another pull is fetching a layer this one needs: said once, on its own
 * line, even with -q (a pull that seems to hang must say why). */
void progress_wait(void *pg, const char *hex, int secs);
/* The last redraw, the ticker stopped, everything freed: once every
 * download has ended (reg_pull has returned). */
void progress_finish(struct progress *pg);

#endif

/* What husk prints that a container or a hostile bundle may have chosen,
 * made harmless on the way out (common/esc.h): every text output escapes
 * through cli_esc, every JSON output goes through cli_print_json. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/esc.h"
#include "common/xalloc.h"
#include "spec/json.h"

/* The escaped copies handed out, freed together once the command is done:
 * a report prints dozens of strings, and most need no copy at all. */
static char **escaped;
static size_t n_escaped;

const char *cli_esc(const char *s)
{
	if (!s || hk_esc_clean(s))
		return s;
	escaped = xrealloc(escaped, (n_escaped + 1) * sizeof(*escaped));
	escaped[n_escaped] = hk_esc(s);
	return escaped[n_escaped++];
}

void cli_esc_release(void)
{
	for (size_t i = 0; i < n_escaped; i++)
		free(escaped[i]);
	free(escaped);
	escaped = NULL;
	n_escaped = 0;
}

int cli_print_json(hk_json *j, int style)
{
	char *text = hk_json_dump(j, style);
	char *safe = hk_esc_mode(text, HK_ESC_JSON_TEXT);
	int r = printf("%s\n", safe) < 0 ? -1 : 0;

	free(safe);
	free(text);
	return r;
}

void cli_json_str(FILE *f, const char *s)
{
	char buf[512];
	size_t n = hk_esc_into(s ? s : "", HK_ESC_JSON, buf, sizeof(buf));

	putc('"', f);
	if (n < sizeof(buf)) {
		fwrite(buf, 1, n, f);
	} else {
		char *big = xmalloc(n + 1);
		hk_esc_into(s, HK_ESC_JSON, big, n + 1);
		fwrite(big, 1, n, f);
		free(big);
	}
	putc('"', f);
}

static ssize_t write_waiting(void *cookie, const char *buf, size_t size)
{
	size_t done = 0;

	(void)cookie;
	while (done < size) {
		ssize_t n = write(STDOUT_FILENO, buf + done, size - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
			if (poll(&p, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		return done ? (ssize_t)done : -1;
	}
	return (ssize_t)done;
}

void cli_stdout_waits(void)
{
	int fl = fcntl(STDOUT_FILENO, F_GETFL);

	if (fl < 0 || !(fl & O_NONBLOCK))
		return;
	FILE *f = fopencookie(NULL, "w", (cookie_io_functions_t){.write = write_waiting});
	if (f)
		stdout = f;
}

void cli_human_size(long long n, const char *sep, char *buf, size_t size)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, u ? "%.3g%s%s" : "%.0f%s%s", v, sep, units[u]);
}

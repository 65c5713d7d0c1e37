/* Diagnostics to stderr or to the --log file, as text or json (runc's
 * logrus-style keys: level, msg, time). Only cli/ and init/ print errors to
 * the user; the library logs at debug level only. */
#ifndef HUSK_COMMON_LOG_H
#define HUSK_COMMON_LOG_H

enum hk_log_level { HK_LOG_ERROR, HK_LOG_WARN, HK_LOG_INFO, HK_LOG_DEBUG };

struct hk_err;

/* path NULL: stderr. json: one JSON object per line. */
int hk_log_init(const char *path, int json, enum hk_log_level level, struct hk_err *err);
void hk_log(enum hk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hk_log_enabled(enum hk_log_level level);
/* Back to stderr, the --log file closed. */
void hk_log_close(void);
/* Back to stderr, leaving the --log file's fd as it is: for a child that
 * closed its fds (or gave the number to another). */
void hk_log_forget(void);

#define hk_debug(...)                                      \
	do {                                               \
		if (hk_log_enabled(HK_LOG_DEBUG))          \
			hk_log(HK_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif

/* A small file of launch's own (a claim, a token) that appears whole or
 * not at all, whenever launch is killed: written unnamed (O_TMPFILE), then
 * linked under its name, which fails (EEXIST in err->errnum) when the
 * name is taken. Nothing is followed: the name is a new link in dirfd. */
#ifndef HUSK_LAUNCH_NEWFILE_H
#define HUSK_LAUNCH_NEWFILE_H

struct hk_err;

int launch_new_file(int dirfd, const char *name, const char *data, struct hk_err *err);

#endif

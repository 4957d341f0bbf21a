/*
 * tmpfile.h - unnamed temporary files (tmpfile.c), pipeline-internal.
 */
#ifndef PIPELINE_TMPFILE_H
#define PIPELINE_TMPFILE_H

/* An unnamed file in dir (O_TMPFILE, mode 0600) that can be linked in later; -1 where the
 * kernel, the file system or a missing /proc do not allow it (use a named one then). */
int pl__tmpfile_open_unnamed(const char *dir);

/* "/proc/self/fd/N": a path to read the unnamed file's bytes back by. */
void pl__tmpfile_proc_path(int fd, char buf[64]);

/* Give the unnamed file fd a name from tmpl, its trailing "XXXXXX" replaced; 0 or an errno. */
int pl__tmpfile_link(int fd, char *tmpl);

#endif

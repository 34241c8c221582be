/* Small blocking I/O loops shared by the daemon's CLI server and sigproxy-cli. */
#ifndef SP_IO_H
#define SP_IO_H

#include <stddef.h>

/* Writes all len bytes of p to fd, retrying short writes and EINTR.
 * 0, or -1 (errno set; a write of 0 bytes also counts as failure). */
int sp_write_all(int fd, const char *p, size_t len);
/* Reads exactly len bytes from fd into p, retrying EINTR; end of file
 * before len bytes counts as failure. 0 or -1. */
int sp_read_all(int fd, char *p, size_t len);

#endif

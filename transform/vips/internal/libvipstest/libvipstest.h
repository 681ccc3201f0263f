#ifndef PICTOR_LIBVIPSTEST_H
#define PICTOR_LIBVIPSTEST_H

#include <stdlib.h>
#include <vips/vips.h>

size_t libvipstest_heap_in_use(void);
int libvipstest_load_any(const void *data, size_t len);

#endif

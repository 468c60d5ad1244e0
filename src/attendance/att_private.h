/*
 * att_private.h — shared between the files of src/attendance only.
 */
#ifndef RC_ATT_PRIVATE_H
#define RC_ATT_PRIVATE_H

#include "att.h"

/* The store the engine was created with. */
store *att_store_of(att *a);

#endif

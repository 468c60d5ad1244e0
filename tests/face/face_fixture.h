/* face_fixture.h — the cmocka group fixture the face tests share: load the
 * default models once (from $ROLLCALL_MODELS) and find the test photos (under
 * $ROLLCALL_TESTDATA/faces). Include once per test file. */
#ifndef RC_TEST_FACE_FIXTURE_H
#define RC_TEST_FACE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "face/face.h"

static face_models *models;
static char faces_dir[1024];

static int setup(void **state)
{
    (void)state;
    const char *m = getenv("ROLLCALL_MODELS"), *t = getenv("ROLLCALL_TESTDATA");
    snprintf(faces_dir, sizeof faces_dir, "%s/faces", t ? t : "../shared/testdata");
    rc_error err;
    if (face_models_load(m ? m : "models", 0, &models, &err) != RC_OK) {
        fprintf(stderr, "# cannot load models: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    face_models_free(models);
    return 0;
}

#endif

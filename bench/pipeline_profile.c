/*
 * pipeline_profile.c — the one-face frame of `rollcall bench pipeline`
 * (a photo resized to 640x480 and re-encoded as JPEG, then decode ->
 * face_analyze, N times) in a small program made for
 * `valgrind --tool=callgrind`, which counts instructions and so is not
 * disturbed by other jobs on the machine. The rollcall binary cannot run
 * under valgrind 3.19: it links FFmpeg, which pulls in libhwy, whose start-up
 * code executes RDTSCP, an instruction valgrind does not emulate.
 *
 * Usage: pipeline-profile MODELS_DIR PHOTO [RUNS [reference]]
 * ("reference" runs the worker's straightforward pre-processing path).
 * bench/pipeline.sh runs it under callgrind when PROFILE=1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/face.h"
#include "image/image.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODELS_DIR PHOTO [RUNS [reference]]\n", argv[0]);
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    int reference = argc > 4 && strcmp(argv[4], "reference") == 0;
    rc_error err;
    face_models *m = NULL;
    face_worker *w = NULL;
    img_image *src = NULL, *f640 = NULL;
    unsigned char *jpg = NULL;
    size_t len = 0;
    int rc = 1;
    if (face_models_load(argv[1], 0, &m, &err) != RC_OK ||
        face_worker_create(m, &w, &err) != RC_OK || img_load(argv[2], NULL, &src, &err) != RC_OK)
        goto fail;
    f640 = img_resize(src, 640, 480, IMG_RESIZE_AUTO);
    if (!f640 || img_encode_jpeg(f640, 90, &jpg, &len, &err) != RC_OK) goto fail;
    face_worker_use_reference(w, reference);
    int faces = 0;
    for (int r = 0; r < runs; r++) {
        img_image *im = NULL;
        face_info *f = NULL;
        if (img_decode(jpg, len, NULL, &im, &err) != RC_OK) goto fail;
        rc_status st = face_analyze(w, im, NULL, &f, &faces, &err);
        img_free(im);
        free(f);
        if (st != RC_OK) goto fail;
    }
    printf("%d runs, %d face%s a frame (%s path)\n", runs, faces, faces == 1 ? "" : "s",
           reference ? "reference" : "fused");
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "pipeline-profile: %s\n", err.msg);
done:
    free(jpg);
    img_free(f640);
    img_free(src);
    face_worker_free(w);
    face_models_free(m);
    return rc;
}

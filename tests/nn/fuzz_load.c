/*
 * fuzz_load.c — libFuzzer target for the model loader: any byte string given
 * to nn_model_load_memory must give a model or an error, never a crash, a
 * leak or undefined behaviour. Models that load are also planned and run once
 * on zeros when their input is small, so shape inference and the kernels see
 * the fuzzed graphs too. Built and run by fuzz.sh (clang -fsanitize=fuzzer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_model *m = NULL;
    rc_error err = {0};
    if (nn_model_load_memory(data, size, "fuzz", &m, &err) != RC_OK) return 0;
    nn_session *s = NULL;
    if (nn_model_num_inputs(m) == 1 && nn_session_create(m, &s, &err) == RC_OK) {
        nn_shape sh = nn_model_input_shape(m, 0);
        int64_t n = 1;
        for (int i = 0; i < sh.ndim; i++) {
            if (sh.d[i] < 0) sh.d[i] = 1;
            n *= sh.d[i];
        }
        if (sh.ndim > 0 && n <= (1 << 16)) {
            float *x = calloc((size_t)n, sizeof(float));
            const float *in[1] = {x};
            if (x) (void)nn_session_run(s, in, &sh, &err);
            free(x);
        }
        nn_session_free(s);
    }
    nn_model_free(m);
    return 0;
}

/* test_main.c: the C test driver (make test-c). Each kernel family has a
 * test_<family>.c defining ck_test_<family>(); all run at 1 and 2 threads. */
#include "test_util.h"

int ck_test_failures = 0;

void ck_test_gemm(void);
/* kernel families: one declaration each */
void ck_test_activations(void);
void ck_test_dropout(void);
void ck_test_dense(void);
void ck_test_losses(void);
void ck_test_optimizers(void);
void ck_test_recurrent(void);
void ck_test_embedding(void);
void ck_test_conv(void);
void ck_test_depthwise(void);
void ck_test_pool(void);
void ck_test_arraypool(void);

static void run_all(void) {
    ck_test_gemm();
    /* kernel families: one call each */
    ck_test_activations();
    ck_test_dropout();
    ck_test_dense();
    ck_test_losses();
    ck_test_optimizers();
    ck_test_recurrent();
    ck_test_embedding();
    ck_test_conv();
    ck_test_depthwise();
    ck_test_pool();
    ck_test_arraypool();
}

int main(void) {
    ck_init();
    for (int threads = 1; threads <= 2; threads++) {
        ck_set_num_threads(threads);
        run_all();
    }
    if (ck_test_failures) {
        fprintf(stderr, "%d kernel check(s) failed\n", ck_test_failures);
        return 1;
    }
    printf("C kernel driver: all checks passed\n");
    return 0;
}

/* test_rc.c — the shared status codes, error messages and file helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "rc/rc.h"

static void every_status_has_a_distinct_name(void **state)
{
    (void)state;
    for (int i = 0; i < RC_STATUS_COUNT; i++) {
        const char *a = rc_status_name((rc_status)i);
        assert_non_null(a);
        assert_string_not_equal(a, "unknown");
        for (int j = 0; j < i; j++) assert_string_not_equal(a, rc_status_name((rc_status)j));
    }
    assert_string_equal(rc_status_name((rc_status)999), "unknown");
}

static void fail_fills_code_and_message(void **state)
{
    (void)state;
    rc_error err;
    rc_error_clear(&err);
    assert_int_equal(rc_fail(&err, RC_ERR_LIMIT, "%d bytes over %s", 12, "limit"), RC_ERR_LIMIT);
    assert_int_equal(err.code, RC_ERR_LIMIT);
    assert_string_equal(err.msg, "12 bytes over limit");
    /* NULL error is allowed and still returns the code. */
    assert_int_equal(rc_fail(NULL, RC_ERR_IO, "x"), RC_ERR_IO);
    /* Long messages are truncated, not overflowed. */
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    rc_fail(&err, RC_ERR_INVALID, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

static void read_file_reads_and_limits(void **state)
{
    (void)state;
    char path[] = "/tmp/rc_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello", 5), 5);
    close(fd);
    unsigned char *buf;
    size_t len;
    rc_error err;
    assert_int_equal(rc_read_file(path, 100, &buf, &len, &err), RC_OK);
    assert_int_equal(len, 5);
    assert_string_equal((char *)buf, "hello");
    free(buf);
    assert_int_equal(rc_read_file(path, 4, &buf, &len, &err), RC_ERR_LIMIT);
    assert_null(buf);
    assert_non_null(strstr(err.msg, "over the limit"));
    unlink(path);
    assert_int_equal(rc_read_file(path, 100, &buf, &len, &err), RC_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(rc_read_file("/tmp", 100, &buf, &len, &err), RC_ERR_IO);
}

static void mkdir_p_creates_nested_and_refuses_files(void **state)
{
    (void)state;
    char base[] = "/tmp/rc_dir_XXXXXX";
    assert_non_null(mkdtemp(base));
    char deep[256];
    snprintf(deep, sizeof deep, "%s/a/b/c", base);
    rc_error err;
    assert_int_equal(rc_mkdir_p(deep, &err), RC_OK);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(rc_mkdir_p(deep, &err), RC_OK); /* again: fine */
    char file[256];
    snprintf(file, sizeof file, "%s/f", base);
    FILE *f = fopen(file, "w");
    fclose(f);
    assert_int_not_equal(rc_mkdir_p(file, &err), RC_OK);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    assert_int_equal(system(cmd), 0);
}

static void clocks_move_forward(void **state)
{
    (void)state;
    double a = rc_mono_ms();
    usleep(2000);
    assert_true(rc_mono_ms() - a >= 1.5);
    assert_true(rc_unix_ms() > 1700000000000LL);
}

/* Sorted ids: qsort by rc_cmp_i64 (values past 32 bits, negative ones),
 * then membership by rc_sorted_has; an empty list has nothing. */
static void sorted_ids_and_membership(void **state)
{
    (void)state;
    int64_t ids[] = {5000000000LL, -3, 7, 1, 4999999999LL};
    qsort(ids, 5, sizeof *ids, rc_cmp_i64);
    assert_true(ids[0] == -3 && ids[1] == 1 && ids[2] == 7 && ids[4] == 5000000000LL);
    for (size_t i = 0; i < 5; i++) assert_true(rc_sorted_has(ids, 5, ids[i]));
    assert_false(rc_sorted_has(ids, 5, 2));
    assert_false(rc_sorted_has(ids, 5, 5000000001LL));
    assert_false(rc_sorted_has(ids, 0, 7));
}

/* The median sorts in place: the middle value of an odd count, the mean of
 * the two middle ones of an even count, whatever the order given. */
static void median_of_odd_and_even_counts(void **state)
{
    (void)state;
    double odd[] = {9, 1, 5, 3, 7};
    assert_true(rc_median(odd, 5) == 5);
    assert_true(odd[0] == 1 && odd[4] == 9);
    double even[] = {4, -2, 10, 1};
    assert_true(rc_median(even, 4) == 2.5);
    double one[] = {0.25};
    assert_true(rc_median(one, 1) == 0.25);
    /* thread CPU time moves forward while the thread works */
    double t0 = rc_thread_cpu_ms();
    volatile double x = 0;
    for (int i = 0; i < 3000000; i++) x += i * 0.5;
    assert_true(rc_thread_cpu_ms() > t0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_status_has_a_distinct_name),
        cmocka_unit_test(fail_fills_code_and_message),
        cmocka_unit_test(read_file_reads_and_limits),
        cmocka_unit_test(mkdir_p_creates_nested_and_refuses_files),
        cmocka_unit_test(clocks_move_forward),
        cmocka_unit_test(median_of_odd_and_even_counts),
        cmocka_unit_test(sorted_ids_and_membership),
    };
    return cmocka_run_group_tests_name("rc", tests, NULL, NULL);
}

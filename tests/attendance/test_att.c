/*
 * test_att.c — the attendance rules, time zones, reports and exports, on a
 * real store (SQLite in a temporary directory). Time is driven explicitly:
 * every sighting carries its own timestamp, computed from local wall times
 * in Europe/Berlin so that DST and midnight edges land where intended.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/testdb.h"
#include "attendance/att.h"
#include "gallery/gallery.h"
#include "store/store.h"

#define OK(expr)                                                                                   \
    do {                                                                                           \
        rc_error e_;                                                                               \
        rc_status s_ = (expr);                                                                     \
        if (s_ != RC_OK) fail_msg("%s: %s (%s)", #expr, e_.msg, rc_status_name(s_));               \
    } while (0)

/* ---- time zones ----------------------------------------------------------- */

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s)
{
    return (rc_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

static void zone_matches_the_c_library_over_decades(void **state)
{
    (void)state;
    static const char *zones[] = {"Europe/Berlin", "America/New_York",  "Australia/Sydney",
                                  "Asia/Kolkata",  "America/Sao_Paulo", "Europe/London"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        att_tz *tz;
        OK(att_tz_load(zones[z], &tz, &e_));
        setenv("TZ", zones[z], 1); /* the reference; this test is single-threaded */
        tzset();
        int checked = 0;
        /* Every 7 hours 13 minutes from 1975 to 2036: hits all transitions' sides. */
        for (int64_t t = 157766400; t < 2082758400; t += 7 * 3600 + 13 * 60) {
            time_t tt = (time_t)t;
            struct tm tm;
            localtime_r(&tt, &tm);
            att_local L;
            att_tz_local(tz, t * 1000, &L);
            if (L.year != tm.tm_year + 1900 || L.month != tm.tm_mon + 1 || L.day != tm.tm_mday ||
                L.hour != tm.tm_hour || L.minute != tm.tm_min || L.wday != tm.tm_wday ||
                L.utc_offset_s != tm.tm_gmtoff || L.is_dst != (tm.tm_isdst > 0))
                fail_msg("%s at %lld: got %04d-%02d-%02d %02d:%02d off %d, libc %02d:%02d off %ld",
                         zones[z], (long long)t, L.year, L.month, L.day, L.hour, L.minute,
                         L.utc_offset_s, tm.tm_hour, tm.tm_min, tm.tm_gmtoff);
            checked++;
        }
        assert_true(checked > 70000);
        att_tz_free(tz);
    }
    unsetenv("TZ");
    tzset();
}

static void dst_gaps_overlaps_and_far_future(void **state)
{
    (void)state;
    att_tz *tz;
    OK(att_tz_load("Europe/Berlin", &tz, &e_));
    att_local L;
    att_tz_local(tz, utc_ms(2026, 3, 29, 0, 59, 59), &L);
    assert_int_equal(L.hour, 1);
    assert_int_equal(L.is_dst, 0);
    att_tz_local(tz, utc_ms(2026, 3, 29, 1, 0, 0), &L);
    assert_int_equal(L.hour, 3);
    assert_int_equal(L.utc_offset_s, 7200);
    int64_t mar29 = rc_days_from_civil(2026, 3, 29), oct25 = rc_days_from_civil(2026, 10, 25);
    /* 02:30 does not exist on 29 March: it maps as if the clock had not moved. */
    assert_int_equal(att_tz_utc(tz, mar29, 150), utc_ms(2026, 3, 29, 1, 30, 0));
    assert_int_equal(att_tz_utc(tz, mar29, 8 * 60), utc_ms(2026, 3, 29, 6, 0, 0));
    /* 02:30 happens twice on 25 October: the first one. */
    assert_int_equal(att_tz_utc(tz, oct25, 150), utc_ms(2026, 10, 25, 0, 30, 0));
    assert_int_equal(att_tz_utc(tz, oct25, 8 * 60), utc_ms(2026, 10, 25, 7, 0, 0));
    /* Midnight ending the day (minute 1440) is the next day's 00:00. */
    assert_int_equal(att_tz_utc(tz, mar29, 1440), att_tz_utc(tz, mar29 + 1, 0));
    /* After the TZif table: the POSIX footer rule. */
    att_tz_local(tz, utc_ms(2080, 7, 1, 12, 0, 0), &L);
    assert_int_equal(L.hour, 14);
    att_tz_local(tz, utc_ms(2080, 12, 1, 12, 0, 0), &L);
    assert_int_equal(L.hour, 13);
    att_tz_free(tz);

    /* A bare POSIX rule behaves like the zone it describes. */
    att_tz *rule, *ny;
    OK(att_tz_load("EST5EDT,M3.2.0,M11.1.0", &rule, &e_));
    OK(att_tz_load("America/New_York", &ny, &e_));
    for (int64_t t = utc_ms(2026, 1, 1, 0, 0, 0); t < utc_ms(2027, 1, 1, 0, 0, 0);
         t += 3600 * 1000) {
        att_local a, b;
        att_tz_local(rule, t, &a);
        att_tz_local(ny, t, &b);
        assert_int_equal(a.utc_offset_s, b.utc_offset_s);
    }
    att_tz_free(rule);
    att_tz_free(ny);

    /* Southern hemisphere: summer in January. */
    OK(att_tz_load("Australia/Sydney", &tz, &e_));
    att_tz_local(tz, utc_ms(2026, 1, 15, 0, 0, 0), &L);
    assert_int_equal(L.utc_offset_s, 11 * 3600);
    att_tz_free(tz);
}

static void bad_zones_are_refused(void **state)
{
    (void)state;
    att_tz *tz = NULL;
    rc_error err;
    assert_int_equal(att_tz_load("Mars/Olympus_Mons", &tz, &err), RC_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "Mars/Olympus_Mons"));
    assert_int_equal(att_tz_load("../../etc/passwd", &tz, &err), RC_ERR_INVALID);
    char path[] = "/tmp/att_tz_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a zone file at all, just text", 34), 34);
    close(fd);
    assert_int_equal(att_tz_load(path, &tz, &err), RC_ERR_CORRUPT);
    /* A real file cut short. */
    unsigned char *data;
    size_t len;
    OK(rc_read_file("/usr/share/zoneinfo/Europe/Berlin", 1 << 20, &data, &len, &e_));
    for (size_t cut = 10; cut < len - 200; cut += 97) {
        FILE *f = fopen(path, "wb");
        fwrite(data, 1, cut, f);
        fclose(f);
        rc_status st = att_tz_load(path, &tz, &err);
        assert_int_equal(st, RC_ERR_CORRUPT);
    }
    /* Garbage counts in a valid-looking header. */
    memset(data + 20, 0xff, 24);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
    assert_int_equal(att_tz_load(path, &tz, &err), RC_ERR_CORRUPT);
    free(data);
    unlink(path);
    OK(att_tz_load("UTC", &tz, &e_));
    att_local L;
    att_tz_local(tz, utc_ms(2026, 6, 1, 12, 0, 0), &L);
    assert_int_equal(L.hour, 12);
    att_tz_free(tz);
    int64_t d;
    assert_int_equal(att_parse_day("2026-02-29", &d), -1);
    assert_int_equal(att_parse_day("2028-02-29", &d), 0);
    assert_int_equal(att_parse_day("2026-1-01", &d), -1);
}

/* ---- rules fixture -------------------------------------------------------- */

typedef struct {
    testdb db;
    store *s;
    att *a;
    att_tz *tz;
    int64_t ann, bob; /* scheduled persons (group "7B") */
    int64_t free_;    /* no schedule */
    int64_t group;
    int64_t sched_mon; /* Monday 08:00-10:00, grace 5 */
    int64_t cam_both, cam_in, cam_out;
} fx;

/* UTC ms of a Berlin wall time. */
static int64_t at(fx *f, int y, int mo, int d, int h, int mi, int s)
{
    return att_tz_utc(f->tz, rc_days_from_civil(y, mo, d), h * 60 + mi) + s * 1000;
}

/* Added to Rollcall on 2026-01-01, before every day the tests judge. */
static int64_t person(store *s, const char *ext, const char *name)
{
    store_person p = {.active = 1, .created_ms = 1767225600000LL};
    snprintf(p.external_id, sizeof p.external_id, "%s", ext);
    snprintf(p.name, sizeof p.name, "%s", name);
    OK(store_person_create(s, &p, &e_));
    return p.id;
}

static int64_t camera(store *s, const char *name, const char *dir)
{
    store_camera c = {.enabled = 1, .fps = 5};
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.direction, sizeof c.direction, "%s", dir);
    OK(store_camera_create(s, &c, &e_));
    return c.id;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || !testdb_open(&f->db)) return -1;
    f->s = f->db.s;
    rc_error err;
    /* In use since 2026-01-01 (the default would be this database's first
     * event or its creation; default_start_is_the_first_use tests it). */
    if (store_setting_set(f->s, "timezone", "Europe/Berlin", &err) ||
        store_setting_set(f->s, "min_stay_s", "3600", &err) ||
        store_setting_set(f->s, "attendance_start_day", "2026-01-01", &err) ||
        att_create(f->s, &f->a, &err) || att_tz_load("Europe/Berlin", &f->tz, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    f->ann = person(f->s, "S1", "Ann");
    f->bob = person(f->s, "S2", "Bob");
    f->free_ = person(f->s, "E1", "Freya");
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "7B");
    OK(store_group_create(f->s, &g, &e_));
    f->group = g.id;
    OK(store_group_join(f->s, g.id, f->ann, 1767225600000LL, &e_)); /* 2026-01-01 */
    OK(store_group_join(f->s, g.id, f->bob, 1767225600000LL, &e_));
    store_schedule sc = {
        .group_id = g.id, .dow = 1, .start_min = 480, .end_min = 600, .grace_min = 5};
    snprintf(sc.label, sizeof sc.label, "Maths");
    OK(store_schedule_create(f->s, &sc, &e_));
    f->sched_mon = sc.id;
    f->cam_both = camera(f->s, "hall", "both");
    f->cam_in = camera(f->s, "door in", "entry");
    f->cam_out = camera(f->s, "door out", "exit");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    att_destroy(f->a);
    att_tz_free(f->tz);
    testdb_free(&f->db);
    free(f);
    return 0;
}

/* Judge by slot from now on (presence_mode "slot"). */
static void presence_by_slot(fx *f)
{
    OK(store_setting_set(f->s, "presence_mode", "slot", &e_));
    OK(att_reload(f->a, &e_));
}

static att_result see(fx *f, int64_t who, int64_t cam, int64_t ts, double conf)
{
    att_sighting sg = {.person_id = who,
                       .ts_ms = ts,
                       .camera_id = cam,
                       .confidence = conf,
                       .box = {10, 20, 100, 120},
                       .liveness = 0.95};
    att_result r;
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    return r;
}

/* 2026-03-02 is a Monday. */
static void entry_then_exit_by_order_last_exit_wins(void **state)
{
    fx *f = *state;
    att_result r = see(f, f->ann, f->cam_both, at(f, 2026, 3, 2, 7, 58, 0), 0.7);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "entry");
    assert_string_equal(r.event.status, "on_time");
    assert_int_equal(r.event.schedule_id, f->sched_mon);
    assert_string_equal(r.event.slot_day, "2026-03-02");
    int64_t entry = r.event.id;
    r = see(f, f->ann, f->cam_both, at(f, 2026, 3, 2, 8, 1, 0), 0.9); /* within 5 min */
    assert_int_equal(r.outcome, ATT_MERGED);
    assert_int_equal(r.event.id, entry);
    assert_int_equal(r.event.sightings, 2);
    assert_true(r.event.confidence == 0.9);
    r = see(f, f->ann, f->cam_both, at(f, 2026, 3, 2, 8, 30, 0), 0.6); /* before min stay */
    assert_int_equal(r.outcome, ATT_MERGED);
    assert_int_equal(r.event.id, entry);
    assert_true(r.event.confidence == 0.9); /* best kept */
    r = see(f, f->ann, f->cam_both, at(f, 2026, 3, 2, 9, 55, 0), 0.8);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "exit");
    assert_string_equal(r.event.status, "on_time"); /* end 10:00 - grace 5 */
    int64_t exit_id = r.event.id;
    r = see(f, f->ann, f->cam_both, at(f, 2026, 3, 2, 10, 20, 0), 0.75);
    assert_int_equal(r.outcome, ATT_MOVED);
    assert_int_equal(r.event.id, exit_id);
    assert_int_equal(r.event.ts_ms, at(f, 2026, 3, 2, 10, 20, 0));
    store_event_filter flt = {.person_id = f->ann};
    store_event *ev;
    size_t n;
    OK(store_event_list(f->s, &flt, (store_page){0}, &ev, &n, NULL, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].sightings, 3);
    assert_int_equal(ev[1].sightings, 2);
    free(ev);
}

static void late_and_early_leave_respect_grace_exactly(void **state)
{
    fx *f = *state;
    /* Start 08:00 + grace 5: 08:05:00.000 is on time, a millisecond later is late. */
    att_result r = see(f, f->ann, f->cam_both, at(f, 2026, 3, 2, 8, 5, 0), 0.8);
    assert_string_equal(r.event.status, "on_time");
    r = see(f, f->bob, f->cam_both, at(f, 2026, 3, 2, 8, 5, 0) + 1, 0.8);
    assert_string_equal(r.event.status, "late");
    /* End 10:00 - grace 5: 09:54:59 leaves early, 09:55:00 does not. */
    r = see(f, f->bob, f->cam_out, at(f, 2026, 3, 2, 9, 54, 59), 0.8);
    assert_string_equal(r.event.kind, "exit");
    assert_string_equal(r.event.status, "early_leave");
    r = see(f, f->ann, f->cam_out, at(f, 2026, 3, 2, 9, 55, 0), 0.8);
    assert_string_equal(r.event.status, "on_time");
}

static void camera_direction_decides(void **state)
{
    fx *f = *state;
    att_result r = see(f, f->ann, f->cam_out, at(f, 2026, 3, 2, 7, 50, 0), 0.8);
    assert_string_equal(r.event.kind, "exit"); /* even as the first sighting */
    r = see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 8, 0, 0), 0.8);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "entry");
    r = see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 8, 20, 0), 0.8);
    assert_int_equal(r.outcome, ATT_NEW); /* re-entry, outside the window */
    assert_string_equal(r.event.kind, "entry");
    assert_string_equal(r.event.status, "late");
}

static void dedup_window_edges(void **state)
{
    fx *f = *state;
    int64_t t0 = at(f, 2026, 3, 2, 8, 0, 0);
    att_result r = see(f, f->ann, f->cam_in, t0, 0.6);
    assert_int_equal(r.outcome, ATT_NEW);
    r = see(f, f->ann, f->cam_in, t0 + 300000 - 1, 0.9); /* 1 ms inside the window */
    assert_int_equal(r.outcome, ATT_MERGED);
    assert_int_equal(r.event.ts_ms, t0); /* the event keeps its first time */
    assert_int_equal(r.event.last_seen_ms, t0 + 299999);
    assert_true(r.event.confidence == 0.9);
    assert_int_equal(r.event.sightings, 2);
    /* The window counts from the last merged sighting; exactly the window is new. */
    r = see(f, f->ann, f->cam_in, t0 + 299999 + 300000, 0.7);
    assert_int_equal(r.outcome, ATT_NEW);
    /* A window of 0 merges nothing. */
    OK(store_setting_set(f->s, "dedup_window_s", "0", &e_));
    OK(att_reload(f->a, &e_));
    r = see(f, f->bob, f->cam_in, t0, 0.7);
    r = see(f, f->bob, f->cam_in, t0, 0.7);
    assert_int_equal(r.outcome, ATT_NEW);
    /* Lower confidence does not replace the best one's box or camera. */
    OK(store_setting_set(f->s, "dedup_window_s", "300", &e_));
    OK(att_reload(f->a, &e_));
    att_sighting sg = {.person_id = f->free_,
                       .ts_ms = t0,
                       .camera_id = f->cam_in,
                       .confidence = 0.9,
                       .box = {1, 2, 3, 4},
                       .liveness = 0.8};
    att_result rr;
    OK(att_record(f->a, &sg, NULL, 0, &rr, &e_));
    sg.ts_ms += 1000;
    sg.confidence = 0.6;
    sg.box[0] = 99;
    sg.camera_id = f->cam_both;
    OK(att_record(f->a, &sg, NULL, 0, &rr, &e_));
    assert_int_equal(rr.outcome, ATT_MERGED);
    assert_true(rr.event.box[0] == 1.0f);
    assert_int_equal(rr.event.camera_id, f->cam_in);
}

static void midnight_and_overnight_slots(void **state)
{
    fx *f = *state;
    /* Friday 22:00 -> Saturday 06:00 (dow 5), grace 10. */
    store_schedule sc = {
        .person_id = f->free_, .dow = 5, .start_min = 22 * 60, .end_min = 360, .grace_min = 10};
    snprintf(sc.label, sizeof sc.label, "night shift");
    OK(store_schedule_create(f->s, &sc, &e_));
    /* 2026-03-06 is a Friday; she arrives at 00:30 on Saturday. */
    att_result r = see(f, f->free_, f->cam_both, at(f, 2026, 3, 7, 0, 30, 0), 0.8);
    assert_string_equal(r.event.kind, "entry");
    assert_string_equal(r.event.status, "late");
    assert_string_equal(r.event.slot_day, "2026-03-06");
    assert_int_equal(r.event.schedule_id, sc.id);
    r = see(f, f->free_, f->cam_both, at(f, 2026, 3, 7, 6, 5, 0), 0.8);
    assert_string_equal(r.event.kind, "exit");
    assert_string_equal(r.event.status, "on_time");
    assert_string_equal(r.event.slot_day, "2026-03-06");
    /* The local day, not the UTC day: 23:30 UTC on Monday is Tuesday in Berlin. */
    r = see(f, f->bob, f->cam_both, utc_ms(2026, 3, 2, 23, 30, 0), 0.8);
    assert_string_equal(r.event.slot_day, "2026-03-03");
    assert_string_equal(r.event.status, "outside");
    assert_int_equal(r.event.schedule_id, 0);
}

static void dst_day_judged_in_local_time(void **state)
{
    fx *f = *state;
    /* Sunday 2026-03-29, the day clocks go forward: class at 08:00 local = 06:00 UTC. */
    store_schedule sc = {
        .person_id = f->free_, .dow = 0, .start_min = 480, .end_min = 540, .grace_min = 5};
    OK(store_schedule_create(f->s, &sc, &e_));
    att_result r = see(f, f->free_, f->cam_in, utc_ms(2026, 3, 29, 6, 4, 0), 0.8);
    assert_string_equal(r.event.status, "on_time");
    assert_int_equal(r.event.schedule_id, sc.id);
    assert_int_equal(att_minutes_late(f->a, &r.event), 0);
    r = see(f, f->bob, f->cam_in, utc_ms(2026, 3, 29, 6, 6, 0), 0.8); /* no schedule */
    assert_string_equal(r.event.status, "outside");
    store_schedule sb = sc;
    sb.person_id = f->bob;
    OK(store_schedule_create(f->s, &sb, &e_));
    r = see(f, f->bob, f->cam_in, utc_ms(2026, 3, 29, 6, 6, 0) + 600000, 0.8);
    assert_string_equal(r.event.status, "late"); /* 08:16 local */
    /* What the kiosk says: 16 minutes after the 08:00 start, in local time
     * on the day the clocks change; an on-time event is 0 late. */
    assert_int_equal(att_minutes_late(f->a, &r.event), 16);
    /* In winter time the same 08:00 is 07:00 UTC. */
    r = see(f, f->free_, f->cam_in, utc_ms(2026, 3, 22, 7, 4, 0), 0.8);
    assert_string_equal(r.event.status, "on_time");
    assert_string_equal(r.event.slot_day, "2026-03-22");
}

static void holidays_have_no_slots_and_no_absences(void **state)
{
    fx *f = *state;
    OK(store_holiday_set(f->s, "2026-03-09", "Spring break", &e_));
    att_result r = see(f, f->ann, f->cam_both, at(f, 2026, 3, 9, 8, 0, 0), 0.8);
    assert_string_equal(r.event.status, "outside");
    att_query q = {.from_day = "2026-03-02",
                   .to_day = "2026-03-15",
                   .now_ms = at(f, 2026, 4, 1, 0, 0, 0),
                   .group_id = f->group};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    /* Two Mondays, one a holiday: one slot each for Ann and Bob, both absent. */
    assert_int_equal(rep.npeople, 2);
    for (size_t i = 0; i < rep.npeople; i++) {
        assert_int_equal(rep.people[i].slots, 1);
        assert_int_equal(rep.people[i].absent, 1);
    }
    assert_int_equal(rep.people[0].days_outside, 1); /* Ann came on the holiday */
    att_report_free(&rep);
    /* Before start + grace it is pending, not absent. */
    q.now_ms = at(f, 2026, 3, 2, 8, 4, 59);
    q.to_day = "2026-03-02";
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 2);
    assert_string_equal(rep.rows[0].status, "pending");
    assert_int_equal(rep.people[0].absent, 0);
    att_report_free(&rep);
    q.now_ms = at(f, 2026, 3, 2, 8, 6, 0);
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_string_equal(rep.rows[0].status, "absent");
    assert_int_equal(rep.people[0].absent, 1);
    att_report_free(&rep);
}

static int64_t leave(fx *f, int64_t who, const char *kind, const char *from, const char *to)
{
    store_leave l = {.person_id = who};
    snprintf(l.kind, sizeof l.kind, "%s", kind);
    snprintf(l.from_day, sizeof l.from_day, "%s", from);
    snprintf(l.to_day, sizeof l.to_day, "%s", to);
    OK(store_leave_add(f->s, &l, &e_));
    return l.id;
}

/* A day of a person's leave is not an absence: its slots are "leave" with
 * the kind (also before start + grace: known ahead), counted apart, out of
 * the rate, out of "who is missing now" and the day's absent figure; when
 * the person came anyway the slot counts as attended and still names the
 * leave. The CSV says it in the reader's words. */
static void leave_days_are_not_absences(void **state)
{
    fx *f = *state;
    leave(f, f->ann, "sick", "2026-03-02", "2026-03-02");
    leave(f, f->bob, "vacation", "2026-03-02", "2026-03-09");
    see(f, f->bob, f->cam_in, at(f, 2026, 3, 9, 7, 58, 0), 0.9); /* came back early */
    att_query q = {.from_day = "2026-03-02",
                   .to_day = "2026-03-09",
                   .group_id = f->group,
                   .now_ms = at(f, 2026, 3, 9, 12, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 4);
    for (size_t i = 0; i < rep.nrows; i++) {
        const att_row *r = &rep.rows[i];
        bool monday2 = !strcmp(r->day, "2026-03-02");
        if (r->person_id == f->ann) {
            assert_string_equal(r->status, monday2 ? "leave" : "absent");
            assert_string_equal(r->leave_kind, monday2 ? "sick" : "");
        } else {
            assert_string_equal(r->status, monday2 ? "leave" : "present");
            assert_string_equal(r->leave_kind, "vacation"); /* shown, presence not hidden */
            assert_int_equal(r->present, !monday2);
        }
        assert_int_equal(r->leave, monday2);
        assert_int_equal(r->absent, r->person_id == f->ann && !monday2);
    }
    for (size_t i = 0; i < rep.npeople; i++) {
        const att_person_summary *p = &rep.people[i];
        bool ann = p->person_id == f->ann;
        assert_int_equal(p->slots, 2);
        assert_int_equal(p->leave, 1);
        assert_int_equal(p->leave_by_kind[0], ann);  /* sick */
        assert_int_equal(p->leave_by_kind[1], !ann); /* vacation */
        assert_int_equal(p->absent, ann);
        assert_int_equal(p->present, !ann);
    }
    assert_int_equal(rep.ngroups, 1);
    assert_int_equal(rep.groups[0].leave, 2);
    assert_int_equal(rep.groups[0].absent, 1);
    assert_true(rep.groups[0].present_rate == 0.5); /* 1 / (1 + 1): leave is not judged */
    att_day *days = NULL;
    size_t nd = 0;
    OK(att_report_days(&rep, &days, &nd, &e_));
    assert_int_equal(nd, 2);
    assert_int_equal(days[0].expected, 2);
    assert_int_equal(days[0].leave, 2);
    assert_int_equal(days[0].absent, 0);
    assert_int_equal(days[0].pending, 0);
    assert_true(days[0].rate == -1); /* nobody judged: no rate, not 0 % */
    assert_int_equal(days[1].present, 1);
    assert_int_equal(days[1].absent, 1);
    assert_int_equal(days[1].leave, 0);
    free(days);

    /* The CSV names the leave's kind in the reader's words. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    att_export_opts es = {.lang = "es", .separator = ';'};
    OK(att_export_csv(&rep, f->tz, &es, mf, &e_));
    fclose(mf);
    assert_non_null(strstr(buf, ";Baja médica;"));
    assert_non_null(strstr(buf, ";Vacaciones;"));
    free(buf);
    mf = open_memstream(&buf, &len);
    OK(att_export_csv(&rep, f->tz, NULL, mf, &e_));
    fclose(mf);
    assert_non_null(strstr(buf, ",sick leave,"));
    assert_non_null(strstr(buf, ",vacation,"));
    free(buf);

    /* Who is missing on the 2nd (what the absentee notice sends): nobody. */
    att_report_keep_absent(&rep, "2026-03-02");
    assert_int_equal(rep.nrows, 0);
    att_report_free(&rep);

    /* Before the slot's start + grace a leave day already says so. */
    q.to_day = "2026-03-02";
    q.now_ms = at(f, 2026, 3, 1, 20, 0, 0);
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 2);
    assert_string_equal(rep.rows[0].status, "leave");
    assert_string_equal(rep.rows[1].status, "leave");
    att_report_free(&rep);
}

/* Absent during the day: at start + grace (08:05), not when the slot ends;
 * a late entry afterwards makes it late. The day's figures (cards and chart)
 * agree with the rows. */
static void absent_from_start_plus_grace_during_the_day(void **state)
{
    fx *f = *state;
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 7, 58, 0), 0.9);
    att_query q = {.from_day = "2026-03-02",
                   .to_day = "2026-03-02",
                   .group_id = f->group,
                   .now_ms = at(f, 2026, 3, 2, 8, 5, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 2);
    for (size_t i = 0; i < rep.nrows; i++)
        assert_string_equal(rep.rows[i].status,
                            rep.rows[i].person_id == f->ann ? "present" : "absent");
    att_day *days = NULL;
    size_t nd = 0;
    OK(att_report_days(&rep, &days, &nd, &e_));
    assert_int_equal(nd, 1);
    assert_string_equal(days[0].day, "2026-03-02");
    assert_int_equal(days[0].expected, 2);
    assert_int_equal(days[0].present, 1);
    assert_int_equal(days[0].absent, 1);
    assert_int_equal(days[0].pending, 0);
    assert_true(days[0].rate == 0.5);
    free(days);
    /* The absentee list: Bob only. */
    att_report_keep_absent(&rep, "2026-03-02");
    assert_int_equal(rep.nrows, 1);
    assert_int_equal(rep.rows[0].person_id, f->bob);
    assert_string_equal(rep.rows[0].label, "Maths");
    assert_int_equal(rep.rows[0].group_id, f->group);
    att_report_free(&rep);

    /* Bob turns up at 08:20: late, no longer absent. */
    see(f, f->bob, f->cam_in, at(f, 2026, 3, 2, 8, 20, 0), 0.9);
    q.now_ms = at(f, 2026, 3, 2, 8, 21, 0);
    OK(att_report_build(f->a, &q, &rep, &e_));
    OK(att_report_days(&rep, &days, &nd, &e_));
    assert_int_equal(days[0].present, 2);
    assert_int_equal(days[0].late, 1);
    assert_int_equal(days[0].absent, 0);
    assert_true(days[0].rate == 1.0);
    free(days);
    att_report_keep_absent(&rep, NULL);
    assert_int_equal(rep.nrows, 0);
    att_report_free(&rep);
}

/* No absences before a person was added nor before attendance_start_day;
 * days without slots (weekends) have no figures at all (not 0 %). */
static void no_absence_before_counting_starts(void **state)
{
    fx *f = *state;
    store_person late_p = {.active = 1, .created_ms = at(f, 2026, 3, 5, 12, 0, 0)};
    snprintf(late_p.name, sizeof late_p.name, "Cleo");
    OK(store_person_create(f->s, &late_p, &e_));
    assert_int_equal(late_p.created_ms, at(f, 2026, 3, 5, 12, 0, 0));
    OK(store_group_join(f->s, f->group, late_p.id, late_p.created_ms, &e_));
    /* Ann attends on 2 March, nobody on 9 March. */
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 7, 58, 0), 0.9);
    att_query q = {.from_day = "2026-02-28",
                   .to_day = "2026-03-15",
                   .group_id = f->group,
                   .now_ms = at(f, 2026, 3, 20, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    int cleo_slots = -1;
    for (size_t i = 0; i < rep.npeople; i++)
        if (rep.people[i].person_id == late_p.id) {
            cleo_slots = rep.people[i].slots;
            assert_int_equal(rep.people[i].absent, 1); /* 9 March only */
        }
    assert_int_equal(cleo_slots, 1);
    att_day *days = NULL;
    size_t nd = 0;
    OK(att_report_days(&rep, &days, &nd, &e_));
    assert_int_equal(nd, 2); /* the two Mondays, no weekend or weekday without slots */
    assert_string_equal(days[0].day, "2026-03-02");
    assert_int_equal(days[0].expected, 2); /* Ann and Bob; Cleo not yet */
    assert_string_equal(days[1].day, "2026-03-09");
    assert_int_equal(days[1].expected, 3);
    assert_true(days[1].rate == 0.0);
    free(days);
    att_report_free(&rep);

    /* The institution started on 9 March: 2 March still counts Ann's entry
     * (attended) but nobody is absent that day. */
    att_config c;
    att_get_config(f->a, &c);
    snprintf(c.start_day, sizeof c.start_day, "2026-03-09");
    OK(att_config_save(f->s, &c, &e_));
    OK(att_reload(f->a, &e_));
    OK(att_report_build(f->a, &q, &rep, &e_));
    OK(att_report_days(&rep, &days, &nd, &e_));
    assert_int_equal(nd, 2);
    assert_int_equal(days[0].expected, 1);
    assert_int_equal(days[0].present, 1);
    assert_int_equal(days[0].absent, 0);
    assert_true(days[0].rate == 1.0);
    free(days);
    att_report_free(&rep);

    /* A bad start day is refused by name. */
    rc_error err;
    OK(store_setting_set(f->s, "attendance_start_day", "March", &e_));
    assert_int_equal(att_config_load(f->s, &c, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "attendance_start_day"));
}

static void week(fx *f);

/* A report per subject: only the slots with that label, no "outside" rows. */
static void report_per_subject(void **state)
{
    fx *f = *state;
    store_schedule sc = {
        .group_id = f->group, .dow = 1, .start_min = 600, .end_min = 660, .grace_min = 0};
    snprintf(sc.label, sizeof sc.label, "Matemáticas");
    OK(store_schedule_create(f->s, &sc, &e_));
    /* Ann leaves 10:05 on 2 March: in at 10:00, so in Matemáticas for five
     * minutes (an early leave); 9 March she left at 9:58, Bob at 9:00. */
    week(f);
    att_query q = {.from_day = "2026-03-01",
                   .to_day = "2026-03-14",
                   .group_id = f->group,
                   .label = "Matemáticas",
                   .now_ms = at(f, 2026, 3, 20, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 4); /* 2 people × 2 Mondays */
    for (size_t i = 0; i < rep.nrows; i++) {
        const att_row *r = &rep.rows[i];
        assert_string_equal(r->label, "Matemáticas");
        bool ann2 = r->person_id == f->ann && !strcmp(r->day, "2026-03-02");
        assert_string_equal(r->status, ann2 ? "present" : "absent");
        assert_int_equal(r->early_leave, ann2);
        assert_int_equal(r->on_site_ms, ann2 ? 5 * 60000 : 0);
    }
    assert_int_equal(rep.ngroups, 1);
    assert_int_equal(rep.groups[0].slots, 4);
    assert_int_equal(rep.groups[0].absent, 3);
    att_report_free(&rep);
    /* By slot (a camera in each room), an entry in the slot itself is needed. */
    presence_by_slot(f);
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 4);
    assert_int_equal(rep.groups[0].absent, 4);
    att_report_free(&rep);
    q.label = "Maths";
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 4);
    assert_int_equal(rep.groups[0].present, 3);
    att_report_free(&rep);
}

/* A recognized event names the enrolled face that matched best; a merged
 * sighting that matches better brings its face along (and is said to be the
 * best now, so the caller keeps its crop as the probe), a weaker one does
 * not. */
static void events_keep_the_best_face(void **state)
{
    fx *f = *state;
    float emb[8] = {1};
    store_face fa = {.person_id = f->ann, .dim = 8}, fb = {.person_id = f->ann, .dim = 8};
    snprintf(fa.model, sizeof fa.model, "m");
    snprintf(fb.model, sizeof fb.model, "m");
    OK(store_face_add(f->s, &fa, emb, NULL, 0, &e_));
    OK(store_face_add(f->s, &fb, emb, NULL, 0, &e_));
    att_sighting sg = {.person_id = f->ann,
                       .ts_ms = at(f, 2026, 3, 2, 8, 0, 0),
                       .confidence = 0.6,
                       .liveness = 0.9,
                       .face_id = fa.id};
    att_result r;
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    assert_int_equal(r.outcome, ATT_NEW);
    assert_true(r.best);
    store_event ev;
    OK(store_event_get(f->s, r.event.id, &ev, &e_));
    assert_int_equal(ev.face_id, fa.id);
    sg.ts_ms += 10000;
    sg.confidence = 0.5; /* weaker: the face stays the best one's */
    sg.face_id = fb.id;
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    assert_int_equal(r.outcome, ATT_MERGED);
    assert_false(r.best);
    OK(store_event_get(f->s, r.event.id, &ev, &e_));
    assert_int_equal(ev.face_id, fa.id);
    sg.ts_ms += 10000;
    sg.confidence = 0.8; /* better: its face stands for the event */
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    assert_true(r.best);
    OK(store_event_get(f->s, r.event.id, &ev, &e_));
    assert_int_equal(ev.face_id, fb.id);
}

static void unrecognized_and_spoofed_sightings_make_no_events(void **state)
{
    fx *f = *state;
    /* Enrolled, as anyone a camera can name is (a sighting naming a person
     * with no face left is not kept: store_sighting_add). */
    float emb[8] = {1};
    store_face fa = {.person_id = f->ann, .dim = 8};
    snprintf(fa.model, sizeof fa.model, "m");
    OK(store_face_add(f->s, &fa, emb, NULL, 0, &e_));
    att_sighting sg = {.person_id = f->ann,
                       .ts_ms = at(f, 2026, 3, 2, 8, 0, 0),
                       .confidence = 0.3,
                       .liveness = 0.9};
    att_result r;
    OK(att_record(f->a, &sg, "jpg", 3, &r, &e_));
    assert_int_equal(r.outcome, ATT_IGNORED);
    OK(store_setting_set(f->s, "keep_unrecognized", "1", &e_));
    OK(att_reload(f->a, &e_));
    OK(att_record(f->a, &sg, "jpg", 3, &r, &e_));
    assert_int_equal(r.outcome, ATT_UNRECOGNIZED);
    sg.confidence = 0.9;
    sg.liveness = 0.1; /* a photo held up to the camera */
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    assert_int_equal(r.outcome, ATT_UNRECOGNIZED);
    sg.person_id = 0;
    sg.liveness = 0.9;
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    store_sighting *list;
    size_t n;
    OK(store_sighting_list(f->s, NULL, (store_page){0}, &list, &n, NULL, &e_));
    assert_int_equal(n, 3);
    assert_string_equal(list[2].reason, "below_threshold");
    assert_int_equal(list[2].has_image, 1);
    assert_string_equal(list[1].reason, "liveness");
    assert_string_equal(list[0].reason, "unknown");
    free(list);
    store_event *ev;
    OK(store_event_list(f->s, NULL, (store_page){0}, &ev, &n, NULL, &e_));
    assert_int_equal(n, 0);
    free(ev);
    /* Bad sightings are refused with a reason. */
    rc_error err;
    sg.person_id = f->ann;
    sg.ts_ms = 0;
    assert_int_equal(att_record(f->a, &sg, NULL, 0, &r, &err), RC_ERR_INVALID);
    sg.ts_ms = at(f, 2026, 3, 2, 8, 0, 0);
    sg.confidence = 0.0 / 0.0;
    assert_int_equal(att_record(f->a, &sg, NULL, 0, &r, &err), RC_ERR_INVALID);
    sg.confidence = 0.9;
    sg.camera_id = 4711;
    assert_int_equal(att_record(f->a, &sg, NULL, 0, &r, &err), RC_ERR_NOT_FOUND);
}

/* Kept faces age out: unrecognized_retention_days after they were seen they
 * are erased (the events stay); 0 keeps them; the default is 30 days. */
static void kept_faces_expire_after_the_retention(void **state)
{
    fx *f = *state;
    att_config c;
    att_get_config(f->a, &c);
    assert_int_equal(c.unrecognized_retention_days, 30);
    OK(store_setting_set(f->s, "keep_unrecognized", "1", &e_));
    OK(att_reload(f->a, &e_));
    int64_t now = at(f, 2026, 3, 31, 12, 0, 0), day = 86400000;
    att_sighting sg = {.ts_ms = now - 31 * day, .confidence = 0.2, .liveness = 0.9};
    att_result r;
    OK(att_record(f->a, &sg, "old", 3, &r, &e_));
    sg.ts_ms = now - 29 * day;
    OK(att_record(f->a, &sg, "new", 3, &r, &e_));
    sg.ts_ms = now - day; /* a recognized event of today: it must stay */
    sg.person_id = f->ann;
    sg.confidence = 0.9;
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    assert_int_equal(r.outcome, ATT_NEW);
    int64_t removed = -1;
    OK(store_setting_set(f->s, "unrecognized_retention_days", "0", &e_));
    OK(att_reload(f->a, &e_));
    OK(att_expire_unrecognized(f->a, now, &removed, &e_));
    assert_int_equal(removed, 0);
    OK(store_setting_set(f->s, "unrecognized_retention_days", "30", &e_));
    OK(att_reload(f->a, &e_));
    OK(att_expire_unrecognized(f->a, now, &removed, &e_));
    assert_int_equal(removed, 1);
    store_sighting *list;
    size_t n;
    OK(store_sighting_list(f->s, NULL, (store_page){0}, &list, &n, NULL, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(list[0].ts_ms, now - 29 * day);
    free(list);
    store_event *ev;
    OK(store_event_list(f->s, NULL, (store_page){0}, &ev, &n, NULL, &e_));
    assert_int_equal(n, 1);
    free(ev);
    rc_error err;
    OK(store_setting_set(f->s, "unrecognized_retention_days", "-1", &e_));
    assert_int_equal(att_reload(f->a, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unrecognized_retention_days"));
}

static void manual_events_and_corrections_keep_the_original(void **state)
{
    fx *f = *state;
    rc_error err;
    store_event e;
    assert_int_equal(
        att_manual(f->a, f->ann, at(f, 2026, 3, 2, 8, 20, 0), "entry", "", "mgr", &e, &err),
        RC_ERR_INVALID);
    OK(att_manual(f->a, f->ann, at(f, 2026, 3, 2, 8, 20, 0), "entry", "camera was down", "mgr", &e,
                  &e_));
    assert_string_equal(e.status, "late");
    assert_string_equal(e.source, "manual");
    assert_int_equal(e.schedule_id, f->sched_mon);
    store_event fixed;
    OK(att_correct(f->a, e.id, at(f, 2026, 3, 2, 7, 59, 0), NULL, "she was there at 7:59",
                   "principal", &fixed, &e_));
    assert_string_equal(fixed.status, "on_time");
    OK(store_event_get(f->s, e.id, &fixed, &e_));
    assert_int_equal(fixed.ts_ms, at(f, 2026, 3, 2, 7, 59, 0));
    store_audit *au;
    size_t n;
    OK(store_audit_list(f->s, "event", e.id, (store_page){0}, &au, &n, NULL, &e_));
    assert_int_equal(n, 2);
    char old[64];
    snprintf(old, sizeof old, "\"ts_ms\":%lld", (long long)at(f, 2026, 3, 2, 8, 20, 0));
    assert_non_null(strstr(au[0].detail, old));
    assert_non_null(strstr(au[0].detail, "\"status\":\"late\""));
    assert_string_equal(au[0].actor, "principal");
    free(au);
    assert_int_equal(att_correct(f->a, e.id, 0, "lunch", "x", "p", &fixed, &err), RC_ERR_INVALID);
    assert_int_equal(att_correct(f->a, 999999, 0, NULL, "x", "p", &fixed, &err), RC_ERR_NOT_FOUND);
    /* Automatic sightings after a manual entry build on it. */
    att_result r = see(f, f->ann, f->cam_both, at(f, 2026, 3, 2, 9, 58, 0), 0.8);
    assert_string_equal(r.event.kind, "exit");
}

/* A sighting recorded on its own thread (by engine a). */
typedef struct {
    att *a;
    att_sighting sg;
    att_result r;
    rc_status st;
} mark_arg;

static void *mark(void *p)
{
    mark_arg *m = p;
    rc_error err;
    m->st = att_record(m->a, &m->sg, NULL, 0, &m->r, &err);
    return NULL;
}

static void events_of(fx *f, int64_t who, size_t want, int sightings)
{
    store_event_filter flt = {.person_id = who};
    store_event *ev;
    size_t n;
    OK(store_event_list(f->s, &flt, (store_page){0}, &ev, &n, NULL, &e_));
    assert_int_equal(n, want);
    if (n) assert_int_equal(ev[0].sightings, sightings);
    free(ev);
}

/* A sighting may skip liveness (att_live_recently) only within the
 * de-duplication window after a sighting of the same person at the same
 * camera that was measured live and made or merged into an event; the
 * window counts from that measured sighting, never from one that skipped
 * it. A sighting that skipped it (merge_only) only merges into the event
 * (count and last seen, never its best face, confidence or liveness), and
 * when no event in the window takes it nothing at all is written
 * (ATT_NEEDS_LIVENESS): no event, no kept sighting. */
static void skipped_liveness_only_merges(void **state)
{
    fx *f = *state;
    int64_t t0 = at(f, 2026, 3, 2, 8, 0, 0), W = 300000;
    OK(store_setting_set(f->s, "keep_unrecognized", "1", &e_));
    OK(att_reload(f->a, &e_));
    assert_false(att_live_recently(f->a, f->ann, f->cam_both, NULL, t0));
    att_result r = see(f, f->ann, f->cam_both, t0, 0.6);
    assert_int_equal(r.outcome, ATT_NEW);
    int64_t ev = r.event.id;
    assert_true(att_live_recently(f->a, f->ann, f->cam_both, NULL, t0 + 1000));
    assert_true(att_live_recently(f->a, f->ann, f->cam_both, "entry", t0 + W - 1));
    assert_false(att_live_recently(f->a, f->ann, f->cam_both, "exit", t0 + 1000));
    assert_false(att_live_recently(f->a, f->ann, f->cam_both, NULL, t0 + W));
    assert_false(att_live_recently(f->a, f->ann, f->cam_in, NULL, t0 + 1000)); /* another camera */
    assert_false(att_live_recently(f->a, f->bob, f->cam_both, NULL, t0 + 1000));

    /* Within the window: merges, but a better confidence does not make it
     * the event's best (its face, box and liveness were never measured). */
    att_sighting sg = {.person_id = f->ann,
                       .ts_ms = t0 + W - 1000,
                       .camera_id = f->cam_both,
                       .confidence = 0.9,
                       .box = {1, 2, 3, 4},
                       .liveness = -1,
                       .merge_only = true};
    OK(att_record(f->a, &sg, "jpg", 3, &r, &e_));
    assert_int_equal(r.outcome, ATT_MERGED);
    assert_int_equal(r.event.id, ev);
    assert_false(r.best);
    assert_int_equal(r.event.sightings, 2);
    assert_int_equal(r.event.last_seen_ms, t0 + W - 1000);
    assert_true(r.event.confidence == 0.6);
    assert_true(r.event.liveness == 0.95);
    assert_true(r.event.box[0] == 10.0f);
    /* ... and does not extend the window in which liveness may be skipped. */
    assert_false(att_live_recently(f->a, f->ann, f->cam_both, NULL, t0 + W));

    /* Past the event's window (counted from its last sighting, as rule 3
     * does): nothing is written, the caller must measure. */
    sg.ts_ms = t0 + W - 1000 + W;
    OK(att_record(f->a, &sg, "jpg", 3, &r, &e_));
    assert_int_equal(r.outcome, ATT_NEEDS_LIVENESS);
    events_of(f, f->ann, 1, 2);
    /* Not a person, or below the threshold: nothing kept either. */
    sg.ts_ms = t0 + 2000;
    sg.person_id = 0;
    OK(att_record(f->a, &sg, "jpg", 3, &r, &e_));
    assert_int_equal(r.outcome, ATT_NEEDS_LIVENESS);
    sg.person_id = f->ann;
    sg.confidence = 0.1;
    OK(att_record(f->a, &sg, "jpg", 3, &r, &e_));
    assert_int_equal(r.outcome, ATT_NEEDS_LIVENESS);
    /* A kind chosen on the kiosk merges only into an event of that kind. */
    sg.confidence = 0.9;
    sg.kind = "exit";
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    assert_int_equal(r.outcome, ATT_NEEDS_LIVENESS);
    store_sighting *kept;
    size_t n;
    OK(store_sighting_list(f->s, NULL, (store_page){0}, &kept, &n, NULL, &e_));
    assert_int_equal(n, 0);
    free(kept);
    events_of(f, f->ann, 1, 2);

    /* The event voided: nothing to merge into. */
    OK(store_event_void(f->s, ev, "test", "wrong person", &e_));
    sg.kind = NULL;
    sg.ts_ms = t0 + 3000;
    OK(att_record(f->a, &sg, NULL, 0, &r, &e_));
    assert_int_equal(r.outcome, ATT_NEEDS_LIVENESS);

    /* A PIN's sighting (liveness not measured by any camera) lets nothing
     * skip; a measured one that is refused (a spoof) neither. */
    att_sighting pin = {.person_id = f->bob,
                        .ts_ms = t0,
                        .camera_id = f->cam_both,
                        .confidence = 1,
                        .liveness = -1,
                        .source = "pin"};
    OK(att_record(f->a, &pin, NULL, 0, &r, &e_));
    assert_int_equal(r.outcome, ATT_NEW);
    assert_false(att_live_recently(f->a, f->bob, f->cam_both, NULL, t0 + 1000));
    att_sighting spoof = {.person_id = f->free_,
                          .ts_ms = t0,
                          .camera_id = f->cam_both,
                          .confidence = 0.9,
                          .liveness = 0.1};
    OK(att_record(f->a, &spoof, NULL, 0, &r, &e_));
    assert_int_equal(r.outcome, ATT_UNRECOGNIZED);
    assert_false(att_live_recently(f->a, f->free_, f->cam_both, NULL, t0 + 1000));

    /* A new liveness threshold forgets what was measured under the old one. */
    see(f, f->free_, f->cam_both, t0 + 10000, 0.7);
    assert_true(att_live_recently(f->a, f->free_, f->cam_both, NULL, t0 + 20000));
    OK(store_setting_set(f->s, "liveness_threshold", "0.9", &e_));
    OK(att_reload(f->a, &e_));
    assert_false(att_live_recently(f->a, f->free_, f->cam_both, NULL, t0 + 20000));
}

/* Several rollcall nodes (each its own engine, as separate processes would
 * be) see the same person at the same moment: one entry, all sightings
 * merged into it, never two entries. */
static void simultaneous_nodes_make_one_event(void **state)
{
    fx *f = *state;
    enum { N = 6 };
    mark_arg n[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        n[i] = (mark_arg){.sg = {.person_id = f->ann,
                                 .ts_ms = at(f, 2026, 3, 2, 7, 59, 0) + i,
                                 .camera_id = f->cam_both,
                                 .confidence = 0.8,
                                 .liveness = 0.9}};
        OK(att_create(f->s, &n[i].a, &e_));
    }
    for (int i = 0; i < N; i++) pthread_create(&th[i], NULL, mark, &n[i]);
    int news = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(n[i].st, RC_OK);
        news += n[i].r.outcome == ATT_NEW;
        att_destroy(n[i].a);
    }
    assert_int_equal(news, 1);
    events_of(f, f->ann, 1, N);
}

/* One engine (one process) with several recognition threads marking at
 * once: Ann by four threads and Bob by four, at the same moment. Each gets
 * one entry holding all four sightings, never two entries. */
static void threads_marking_one_person_make_one_event(void **state)
{
    fx *f = *state;
    enum { N = 8 };
    mark_arg m[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        m[i] = (mark_arg){.a = f->a,
                          .sg = {.person_id = i % 2 ? f->bob : f->ann,
                                 .ts_ms = at(f, 2026, 3, 2, 7, 59, 0) + i,
                                 .camera_id = f->cam_both,
                                 .confidence = 0.8,
                                 .liveness = 0.9}};
        pthread_create(&th[i], NULL, mark, &m[i]);
    }
    int news = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(m[i].st, RC_OK);
        assert_true(m[i].r.outcome == ATT_NEW || m[i].r.outcome == ATT_MERGED);
        news += m[i].r.outcome == ATT_NEW;
    }
    assert_int_equal(news, 2);
    events_of(f, f->ann, 1, N / 2);
    events_of(f, f->bob, 1, N / 2);
    att_stats st;
    att_get_stats(f->a, &st);
    assert_int_equal(st.records, N);
    assert_true(st.commits >= 1 && st.commits <= N);
}

/* Wait (bounded) until the engine's queue and commit state are as given. */
static void wait_queue(att *a, size_t waiting)
{
    att_stats st;
    for (int i = 0; i < 20000; i++) {
        att_get_stats(a, &st);
        if (st.committing && st.waiting == waiting) return;
        usleep(500);
    }
    fail_msg("the queue never held %zu waiting calls (%zu, committing %d)", waiting, st.waiting,
             st.committing);
}

/* Group commit (SQLite): while a commit cannot finish (another connection
 * holds the database's write lock, as a slow fsync would), the sightings
 * that arrive wait and the next commit takes them all in one transaction,
 * deciding them in order (the de-duplication window sees each one before
 * it). A bad sighting in a batch fails alone. Nothing is answered before
 * its commit. */
static void sightings_during_a_commit_share_the_next(void **state)
{
    fx *f = *state;
    if (store_kind(f->s) != STORE_SQLITE) {
        /* cmocka's skip() reads as a failure to meson's TAP parser */
        printf("# PostgreSQL commits one transaction per sighting: no queue to test\n");
        return;
    }
    enum { N = 4 };
    int64_t t0 = at(f, 2026, 3, 2, 7, 59, 0);
    for (int round = 0; round < 2; round++) {
        /* round 0: four of Ann's sightings; round 1: Bob's, one with a bad kind */
        int64_t who = round ? f->bob : f->ann;
        mark_arg m[N];
        pthread_t th[N];
        att_stats before;
        att_get_stats(f->a, &before);
        OK(store_tx_begin(f->s, 0, &e_)); /* this thread holds the write lock */
        for (int i = 0; i < N; i++) {
            m[i] = (mark_arg){.a = f->a,
                              .sg = {.person_id = who,
                                     .ts_ms = t0 + i * 1000,
                                     .camera_id = f->cam_both,
                                     .confidence = 0.8,
                                     .liveness = 0.9,
                                     .kind = round && i == 2 ? "sideways" : NULL}};
            pthread_create(&th[i], NULL, mark, &m[i]);
            wait_queue(f->a, (size_t)i); /* the first commits alone, the others queue */
        }
        for (int i = 0; i < N; i++) assert_int_equal(m[i].st, RC_OK); /* none answered yet */
        OK(store_tx_end(f->s, RC_OK, &e_));
        for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
        att_stats after;
        att_get_stats(f->a, &after);
        assert_int_equal(after.records - before.records, N);
        assert_int_equal(m[0].r.outcome, ATT_NEW);
        for (int i = 1; i < N; i++) {
            if (round && i == 2) {
                assert_int_equal(m[i].st, RC_ERR_INVALID);
                continue;
            }
            assert_int_equal(m[i].st, RC_OK);
            assert_int_equal(m[i].r.outcome, ATT_MERGED);
            assert_int_equal(m[i].r.event.id, m[0].r.event.id);
            assert_int_equal(m[i].r.event.sightings, i + 1 - (round && i > 2));
        }
        /* round 0: the first alone, the other three in one commit; round 1:
         * the batch failed on the bad one, the two good ones committed alone */
        assert_int_equal(after.commits - before.commits, round ? 3 : 2);
        events_of(f, who, 1, round ? N - 1 : N);
    }
}

static void bad_settings_are_named(void **state)
{
    fx *f = *state;
    rc_error err;
    att *a2 = NULL;
    OK(store_setting_set(f->s, "dedup_window_s", "five minutes", &e_));
    assert_int_equal(att_create(f->s, &a2, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "dedup_window_s"));
    OK(store_setting_set(f->s, "dedup_window_s", "300", &e_));
    OK(store_setting_set(f->s, "recognition_threshold", "7", &e_));
    assert_int_equal(att_reload(f->a, &err), RC_ERR_INVALID);
    OK(store_setting_set(f->s, "recognition_threshold", "0.4", &e_));
    OK(store_setting_set(f->s, "timezone", "Mars/Olympus_Mons", &e_));
    assert_int_equal(att_reload(f->a, &err), RC_ERR_NOT_FOUND);
    /* A failed reload keeps the previous configuration. */
    att_config c;
    att_get_config(f->a, &c);
    assert_string_equal(c.timezone, "Europe/Berlin");
    c.dedup_window_s = 120;
    OK(att_config_save(f->s, &c, &e_));
    OK(att_reload(f->a, &e_));
    att_get_config(f->a, &c);
    assert_int_equal(c.dedup_window_s, 120);
    /* The default is the gallery's calibrated threshold, saved and read back. */
    assert_true(fabs(c.recognition_threshold - GALLERY_DEFAULT_THRESHOLD) < 1e-6);
    snprintf(c.timezone, sizeof c.timezone, "Nowhere/Land");
    assert_int_equal(att_config_save(f->s, &c, &err), RC_ERR_NOT_FOUND);
}

/* A week of 7B: Ann always on time and stays; Bob late on one Monday,
 * absent on the other, and Freya (no schedule) drops by once. */
static void week(fx *f)
{
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 7, 55, 0), 0.9);
    see(f, f->ann, f->cam_out, at(f, 2026, 3, 2, 10, 5, 0), 0.9);
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 9, 7, 58, 0), 0.9);
    see(f, f->ann, f->cam_out, at(f, 2026, 3, 9, 9, 58, 0), 0.9);
    see(f, f->bob, f->cam_in, at(f, 2026, 3, 2, 8, 15, 0), 0.9);
    see(f, f->bob, f->cam_out, at(f, 2026, 3, 2, 9, 0, 0), 0.9);
    see(f, f->free_, f->cam_in, at(f, 2026, 3, 4, 12, 0, 0), 0.9);
    see(f, f->free_, f->cam_out, at(f, 2026, 3, 4, 13, 30, 0), 0.9);
}

static void reports_count_and_rate(void **state)
{
    fx *f = *state;
    week(f);
    att_query q = {
        .from_day = "2026-03-01", .to_day = "2026-03-14", .now_ms = at(f, 2026, 3, 20, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.npeople, 3);
    const att_person_summary *ann = NULL, *bob = NULL, *fr = NULL;
    for (size_t i = 0; i < rep.npeople; i++) {
        if (rep.people[i].person_id == f->ann) ann = &rep.people[i];
        if (rep.people[i].person_id == f->bob) bob = &rep.people[i];
        if (rep.people[i].person_id == f->free_) fr = &rep.people[i];
    }
    assert_non_null(ann);
    assert_non_null(bob);
    assert_non_null(fr);
    assert_int_equal(ann->slots, 2);
    assert_int_equal(ann->present, 2);
    assert_int_equal(ann->late, 0);
    assert_int_equal(ann->on_site_ms, (130 + 120) * 60000LL);
    assert_int_equal(ann->first_entry_ms, at(f, 2026, 3, 2, 7, 55, 0));
    assert_int_equal(ann->last_exit_ms, at(f, 2026, 3, 9, 9, 58, 0));
    assert_int_equal(bob->present, 1);
    assert_int_equal(bob->late, 1);
    assert_int_equal(bob->early_leave, 1);
    assert_int_equal(bob->absent, 1);
    assert_int_equal(fr->slots, 0);
    assert_int_equal(fr->days_outside, 1);
    assert_int_equal(fr->on_site_ms, 90 * 60000LL);
    assert_int_equal(rep.ngroups, 1);
    assert_int_equal(rep.groups[0].members, 2);
    assert_int_equal(rep.groups[0].slots, 4);
    assert_true(rep.groups[0].present_rate == 0.75);
    assert_true(rep.groups[0].late_rate == 1.0 / 3.0);
    att_report_free(&rep);

    /* Per person, per day. */
    q = (att_query){
        .from_day = "2026-03-02", .to_day = "2026-03-02", .person_id = f->bob, .now_ms = q.now_ms};
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 1);
    assert_string_equal(rep.rows[0].status, "late");
    assert_string_equal(rep.rows[0].label, "Maths");
    assert_int_equal(rep.rows[0].on_site_ms, 45 * 60000LL);
    att_report_free(&rep);

    rc_error err;
    q.to_day = "2026-02-01";
    assert_int_equal(att_report_build(f->a, &q, &rep, &err), RC_ERR_INVALID);
    q.from_day = "2020-01-01";
    q.to_day = "2026-01-01";
    assert_int_equal(att_report_build(f->a, &q, &rep, &err), RC_ERR_LIMIT);
    q.from_day = "yesterday";
    assert_int_equal(att_report_build(f->a, &q, &rep, &err), RC_ERR_INVALID);
}

/* Split one CSV line (RFC 4180, no embedded newlines) into cells. */
static int csv_split(const char *line, char cells[24][200])
{
    int n = 0;
    const char *p = line;
    while (n < 24) {
        char *o = cells[n];
        size_t k = 0;
        if (*p == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"') p++;
                if (k < 199) o[k++] = *p;
                p++;
            }
            if (*p == '"') p++;
        } else {
            while (*p && *p != ',' && *p != '\r' && *p != '\n')
                if (k < 199) o[k++] = *p++;
        }
        o[k] = 0;
        n++;
        if (*p != ',') break;
        p++;
    }
    return n;
}

static void csv_export_reads_back(void **state)
{
    fx *f = *state;
    store_person p;
    OK(store_person_get(f->s, f->bob, &p, &e_));
    snprintf(p.first_name, sizeof p.first_name, "=HYPERLINK(\"x\"),");
    snprintf(p.last_name, sizeof p.last_name, "Bob");
    OK(store_person_update(f->s, &p, &e_));
    week(f);
    att_query q = {.from_day = "2026-03-02",
                   .to_day = "2026-03-09",
                   .group_id = f->group,
                   .now_ms = at(f, 2026, 3, 20, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    char path[] = "/tmp/att_csv_XXXXXX";
    int fd = mkstemp(path);
    FILE *out = fdopen(fd, "w");
    OK(att_export_csv(&rep, f->tz, NULL, out, &e_));
    fclose(out);
    FILE *in = fopen(path, "r");
    char line[1024], cells[24][200];
    assert_non_null(fgets(line, sizeof line, in));
    assert_int_equal(csv_split(line, cells), 18);
    assert_string_equal(cells[0], "day");
    assert_string_equal(cells[11], "minutes_on_site");
    assert_string_equal(cells[12], "corrected");
    assert_string_equal(cells[13], "minutes_outside_slots");
    assert_string_equal(cells[14], "missing_exit");
    assert_string_equal(cells[15], "minutes_late");
    assert_string_equal(cells[16], "minutes_early_leave");
    assert_string_equal(cells[17], "overtime_minutes");
    int rows = 0, found_ann = 0, found_bob = 0;
    while (fgets(line, sizeof line, in)) {
        assert_non_null(strstr(line, "\r\n"));
        assert_int_equal(csv_split(line, cells), 18);
        assert_string_equal(cells[12], ""); /* nothing corrected */
        rows++;
        if (!strcmp(cells[1], "S1") && !strcmp(cells[0], "2026-03-02")) {
            found_ann = 1;
            assert_string_equal(cells[3], "Maths");
            assert_string_equal(cells[4], "08:00");
            assert_string_equal(cells[5], "10:00");
            assert_string_equal(cells[6], "present");
            assert_string_equal(cells[9], "07:55");
            assert_string_equal(cells[10], "10:05");
            assert_string_equal(cells[11], "120"); /* 07:55-10:05 in, the slot's 120 minutes */
            assert_string_equal(cells[13], "10");  /* and 10 outside it */
            assert_string_equal(cells[14], "0");
            assert_string_equal(cells[15], "0");
            assert_string_equal(cells[17], "5"); /* after 10:00; 07:55 is within the margin */
        }
        if (!strcmp(cells[1], "S2") && !strcmp(cells[0], "2026-03-09")) {
            found_bob = 1;
            assert_string_equal(cells[2], "'=HYPERLINK(\"x\"), Bob"); /* defused */
            assert_string_equal(cells[6], "absent");
            assert_string_equal(cells[9], "");
        }
    }
    fclose(in);
    unlink(path);
    assert_int_equal(rows, 4);
    assert_true(found_ann && found_bob);
    att_report_free(&rep);
}

static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) n += got;
    buf[n] = 0;
    pclose(p);
    return buf;
}

static void xlsx_export_unzips_to_expected_rows(void **state)
{
    fx *f = *state;
    week(f);
    att_query q = {
        .from_day = "2026-03-02", .to_day = "2026-03-09", .now_ms = at(f, 2026, 3, 20, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    char dir[] = "/tmp/att_xlsx_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], cmd[300];
    snprintf(path, sizeof path, "%s/report.xlsx", dir);
    OK(att_export_xlsx(&rep, f->tz, NULL, path, &e_));
    snprintf(cmd, sizeof cmd, "unzip -Z1 %s", path);
    char *list = run_capture(cmd);
    assert_non_null(strstr(list, "xl/worksheets/sheet1.xml"));
    assert_non_null(strstr(list, "xl/worksheets/sheet2.xml"));
    free(list);
    snprintf(cmd, sizeof cmd, "unzip -p %s xl/workbook.xml", path);
    char *wb = run_capture(cmd);
    assert_non_null(strstr(wb, "name=\"Summary\""));
    assert_non_null(strstr(wb, "name=\"Detail\""));
    free(wb);
    snprintf(cmd, sizeof cmd, "unzip -p %s xl/worksheets/sheet2.xml", path);
    char *det = run_capture(cmd);
    /* Header + Ann, Bob on two Mondays + Freya's Wednesday = 6 rows. */
    int rows = 0;
    for (char *p = det; (p = strstr(p, "<row ")); p++) rows++;
    assert_int_equal(rows, 6);
    assert_non_null(strstr(det, "<t>minutes_on_site</t>"));
    assert_non_null(strstr(det, "<t>Maths</t>"));
    assert_non_null(strstr(det, "<t>absent</t>"));
    assert_non_null(strstr(det, "<t>outside</t>"));
    /* Days and times are Excel dates and times, not text: 2 March 2026 is
     * day 46083, 07:55 is 475/1440 of a day (they were strings before). */
    assert_null(strstr(det, "<t>07:55</t>"));
    assert_null(strstr(det, "<t>2026-03-02</t>"));
    assert_non_null(strstr(det, "<v>46083</v>"));
    assert_non_null(strstr(det, "<v>0.32986111111"));
    /* Ann's 120 minutes in the slot on 2 March (07:55-10:05 in), as a number. */
    assert_non_null(strstr(det, "<v>120</v>"));
    free(det);
    snprintf(cmd, sizeof cmd, "unzip -p %s xl/worksheets/sheet1.xml", path);
    char *sum = run_capture(cmd);
    assert_non_null(strstr(sum, "<t>present_rate</t>"));
    assert_non_null(strstr(sum, "<t>7B</t>"));
    assert_non_null(strstr(sum, "<t>Freya</t>"));
    assert_non_null(strstr(sum, "<v>0.75</v>")); /* 7B: 3 of 4 slots present */
    free(sum);
    /* Hours on site have a two-decimal number format. */
    snprintf(cmd, sizeof cmd, "unzip -p %s xl/styles.xml", path);
    char *styles = run_capture(cmd);
    assert_non_null(strstr(styles, "formatCode=\"0.00\""));
    assert_non_null(strstr(styles, "formatCode=\"yyyy-mm-dd\""));
    assert_non_null(strstr(styles, "formatCode=\"hh:mm\""));
    free(styles);
    unlink(path);
    rmdir(dir);
    rc_error err;
    assert_int_equal(att_export_xlsx(&rep, f->tz, NULL, "/nonexistent-dir/r.xlsx", &err),
                     RC_ERR_IO);
    att_report_free(&rep);
}

/* The absences of one person in a report (-1: not in it). */
static int absences_of(const att_report *rep, int64_t person)
{
    for (size_t i = 0; i < rep->npeople; i++)
        if (rep->people[i].person_id == person) return rep->people[i].absent;
    return -1;
}

/* Without attendance_start_day, the institution starts on its first
 * attendance event (or the database's creation, if earlier): Bob is not
 * absent on 2 March when nobody used Rollcall before 9 March. */
static void default_start_is_the_first_use(void **state)
{
    fx *f = *state;
    OK(store_setting_set(f->s, "attendance_start_day", "", &e_));
    OK(att_reload(f->a, &e_));
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 9, 7, 58, 0), 0.9);
    att_query q = {.from_day = "2026-03-02",
                   .to_day = "2026-03-15",
                   .group_id = f->group,
                   .now_ms = at(f, 2026, 3, 20, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(absences_of(&rep, f->bob), 1); /* 9 March only */
    att_report_free(&rep);
    /* An earlier event moves the start back. */
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 7, 58, 0), 0.9);
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(absences_of(&rep, f->bob), 2);
    att_report_free(&rep);
    int64_t d;
    OK(att_start_day(f->a, f->tz, &d, &e_));
    assert_int_equal(d, rc_days_from_civil(2026, 3, 2));
}

/* The zone handed out by att_zone stays valid across reloads (callers use
 * it without the lock while a settings save reloads the engine); a reload
 * that keeps the zone keeps the same one. */
static void zone_outlives_a_reload(void **state)
{
    fx *f = *state;
    const att_tz *before = att_zone(f->a);
    char name[64];
    snprintf(name, sizeof name, "%s", att_tz_name(before));
    OK(att_reload(f->a, &e_));
    assert_ptr_equal(att_zone(f->a), before);
    OK(store_setting_set(f->s, "timezone", strcmp(name, "Asia/Tokyo") ? "Asia/Tokyo" : "UTC", &e_));
    OK(att_reload(f->a, &e_));
    assert_ptr_not_equal(att_zone(f->a), before);
    assert_string_equal(att_tz_name(before), name); /* still readable */
    att_local l;
    att_tz_local(before, 0, &l);
    OK(store_setting_set(f->s, "timezone", name, &e_));
    OK(att_reload(f->a, &e_));
}

/* A group's slots count from the day the person joined that group, and
 * nobody is absent from the day they were archived on; their history
 * before stays in the report, and unarchiving brings the absences back. */
static void join_and_archive_dates_bound_absences(void **state)
{
    fx *f = *state;
    att_query q = {.from_day = "2026-03-02",
                   .to_day = "2026-03-22",
                   .group_id = f->group,
                   .now_ms = at(f, 2026, 4, 1, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(absences_of(&rep, f->bob), 3); /* three Mondays */
    att_report_free(&rep);
    /* Bob joined 7B on Tuesday 10 March: only the 16th counts. */
    OK(store_group_join(f->s, f->group, f->bob, at(f, 2026, 3, 10, 9, 0, 0), &e_));
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(absences_of(&rep, f->bob), 1);
    att_report_free(&rep);
    OK(store_group_join(f->s, f->group, f->bob, 1767225600000LL, &e_));
    /* Ann attends on 2 March, is archived on 9 March (a Monday, before her
     * slot): 2 March stays attended, 9 and 16 March are no absence. */
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 7, 58, 0), 0.9);
    store_person p;
    OK(store_person_get(f->s, f->ann, &p, &e_));
    p.active = 0;
    p.archived_ms = at(f, 2026, 3, 9, 7, 0, 0);
    OK(store_person_update(f->s, &p, &e_));
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(absences_of(&rep, f->ann), 0);
    for (size_t i = 0; i < rep.npeople; i++)
        if (rep.people[i].person_id == f->ann) {
            assert_int_equal(rep.people[i].present, 1);
            assert_int_equal(rep.people[i].slots, 1);
        }
    att_day *days = NULL;
    size_t nd = 0;
    OK(att_report_days(&rep, &days, &nd, &e_));
    assert_int_equal(nd, 3);
    assert_int_equal(days[1].expected, 1); /* 9 March: Bob only */
    free(days);
    att_report_free(&rep);
    /* A range wholly after the archive day leaves her out. */
    att_query later = q;
    later.from_day = "2026-03-16";
    OK(att_report_build(f->a, &later, &rep, &e_));
    assert_int_equal(absences_of(&rep, f->ann), -1);
    att_report_free(&rep);
    p.active = 1;
    OK(store_person_update(f->s, &p, &e_));
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(absences_of(&rep, f->ann), 2);
    att_report_free(&rep);
}

/* The row of person p for schedule sc in a report; NULL when none. */
static const att_row *row_of(const att_report *rep, int64_t p, int64_t sc)
{
    for (size_t i = 0; i < rep->nrows; i++)
        if (rep->rows[i].person_id == p && rep->rows[i].schedule_id == sc) return &rep->rows[i];
    return NULL;
}

static const att_group_summary *group_of(const att_report *rep, int64_t g)
{
    for (size_t i = 0; i < rep->ngroups; i++)
        if (rep->groups[i].group_id == g) return &rep->groups[i];
    return NULL;
}

static size_t outside_rows(const att_report *rep, int64_t p)
{
    size_t n = 0;
    for (size_t i = 0; i < rep->nrows; i++)
        n += rep->rows[i].person_id == p && !rep->rows[i].schedule_id;
    return n;
}

/* Ann is in 7B (Maths, Monday 08:00) and in Chess (Monday 15:00), and has
 * her own tutoring slot (Monday 12:00). A group's figures count that
 * group's slots only; a report for one group, or for a manager limited to
 * some groups, shows those groups' slots (and a person's own), and the
 * other groups' slots neither show nor turn their events into "outside"
 * rows. */
static void each_group_counts_its_own_slots(void **state)
{
    fx *f = *state;
    store_group chess = {0};
    snprintf(chess.name, sizeof chess.name, "Chess");
    OK(store_group_create(f->s, &chess, &e_));
    OK(store_group_join(f->s, chess.id, f->ann, 1767225600000LL, &e_));
    store_schedule cs = {
        .group_id = chess.id, .dow = 1, .start_min = 900, .end_min = 960, .grace_min = 0};
    snprintf(cs.label, sizeof cs.label, "Chess");
    OK(store_schedule_create(f->s, &cs, &e_));
    store_schedule own = {
        .person_id = f->ann, .dow = 1, .start_min = 720, .end_min = 780, .grace_min = 0};
    snprintf(own.label, sizeof own.label, "Tutoring");
    OK(store_schedule_create(f->s, &own, &e_));
    OK(att_reload(f->a, &e_));
    att_result r = see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 7, 58, 0), 0.8);
    assert_int_equal(r.event.schedule_id, f->sched_mon);
    /* She goes out at 10:05, so she is not in for her own 12:00 slot. */
    r = see(f, f->ann, f->cam_out, at(f, 2026, 3, 2, 10, 5, 0), 0.8);
    assert_int_equal(r.event.schedule_id, f->sched_mon);
    r = see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 14, 58, 0), 0.8);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_int_equal(r.event.schedule_id, cs.id);
    r = see(f, f->bob, f->cam_in, at(f, 2026, 3, 2, 8, 10, 0), 0.8);
    assert_string_equal(r.event.status, "late");

    att_query q = {
        .from_day = "2026-03-02", .to_day = "2026-03-02", .now_ms = at(f, 2026, 3, 20, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_non_null(row_of(&rep, f->ann, f->sched_mon));
    assert_non_null(row_of(&rep, f->ann, cs.id));
    assert_true(row_of(&rep, f->ann, own.id)->absent);
    assert_int_equal(outside_rows(&rep, f->ann), 0);
    const att_group_summary *g7 = group_of(&rep, f->group), *gc = group_of(&rep, chess.id);
    assert_non_null(g7);
    assert_non_null(gc);
    /* 7B: Ann's and Bob's Maths; not Ann's chess or tutoring */
    assert_int_equal(g7->members, 2);
    assert_int_equal(g7->slots, 2);
    assert_int_equal(g7->present, 2);
    assert_int_equal(g7->late, 1);
    assert_int_equal(g7->absent, 0);
    assert_int_equal(gc->members, 1);
    assert_int_equal(gc->slots, 1);
    assert_int_equal(gc->present, 1);
    assert_int_equal(gc->absent, 0);
    att_report_free(&rep);

    /* 7B's report: its slots only, the chess entry not "outside" */
    q.group_id = f->group;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_non_null(row_of(&rep, f->ann, f->sched_mon));
    assert_null(row_of(&rep, f->ann, cs.id));
    assert_null(row_of(&rep, f->ann, own.id));
    assert_int_equal(outside_rows(&rep, f->ann), 0);
    assert_int_equal(rep.ngroups, 1);
    assert_int_equal(rep.groups[0].slots, 2);
    for (size_t i = 0; i < rep.npeople; i++)
        if (rep.people[i].person_id == f->ann) assert_int_equal(rep.people[i].slots, 1);
    att_report_free(&rep);

    /* A manager limited to Chess: Chess and Ann's own slot, no 7B */
    q.group_id = 0;
    q.scoped = true;
    q.groups = &chess.id;
    q.ngroups = 1;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_null(row_of(&rep, f->ann, f->sched_mon));
    assert_null(row_of(&rep, f->bob, f->sched_mon));
    assert_non_null(row_of(&rep, f->ann, cs.id));
    assert_non_null(row_of(&rep, f->ann, own.id));
    assert_int_equal(outside_rows(&rep, f->ann), 0);
    assert_int_equal(outside_rows(&rep, f->bob), 0);
    assert_int_equal(rep.ngroups, 1);
    assert_int_equal(rep.groups[0].group_id, chess.id);
    att_report_free(&rep);

    /* ... with Chess's members given (what HTTP passes): only Ann is built,
     * with the same rows; Bob, outside, gets none and is not listed */
    q.persons = &f->ann;
    q.npersons = 1;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_non_null(row_of(&rep, f->ann, cs.id));
    assert_non_null(row_of(&rep, f->ann, own.id));
    for (size_t i = 0; i < rep.nrows; i++) assert_int_equal(rep.rows[i].person_id, f->ann);
    assert_int_equal(rep.npeople, 1);
    assert_int_equal(rep.people[0].person_id, f->ann);
    assert_int_equal(rep.groups[0].members, 1);
    att_report_free(&rep);
    q.persons = NULL;
    q.npersons = 0;

    /* ... and limited to no group at all: a person's own slot only */
    q.ngroups = 0;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_null(row_of(&rep, f->ann, f->sched_mon));
    assert_null(row_of(&rep, f->ann, cs.id));
    assert_non_null(row_of(&rep, f->ann, own.id));
    assert_int_equal(rep.ngroups, 0);
    att_report_free(&rep);
}

/* 7B's timetable changes from Monday 9 March: Maths moves from 08:00 to
 * 11:00 and Wednesday's Art (from before) is dropped. The days before keep
 * their judgement (2 March's Maths at 08:00, Ann present and Bob absent;
 * 4 March's Art absences), the days from the 9th are judged by the new
 * slots, and live events pick the slot in force on their day. */
static void a_changed_timetable_leaves_past_days_alone(void **state)
{
    fx *f = *state;
    store_schedule art = {.group_id = f->group, .dow = 3, .start_min = 600, .end_min = 660};
    snprintf(art.label, sizeof art.label, "Art");
    OK(store_schedule_create(f->s, &art, &e_));
    att_result r = see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 7, 58, 0), 0.9);
    assert_int_equal(r.event.schedule_id, f->sched_mon);
    store_schedule maths;
    OK(store_schedule_get(f->s, f->sched_mon, &maths, &e_));
    maths.start_min = 660, maths.end_min = 720;
    OK(store_schedules_write_from(f->s, 0, f->group, 1, "2026-03-09", &maths, 1, NULL, &e_));
    assert_true(maths.id != f->sched_mon);
    /* Ann comes to the new 11:00 Maths on the 9th, on time. */
    r = see(f, f->ann, f->cam_in, at(f, 2026, 3, 9, 10, 58, 0), 0.9);
    assert_int_equal(r.event.schedule_id, maths.id);
    assert_string_equal(r.event.status, "on_time");

    att_query q = {.from_day = "2026-03-02",
                   .to_day = "2026-03-13",
                   .group_id = f->group,
                   .now_ms = at(f, 2026, 4, 1, 0, 0, 0)};
    for (int mode = 0; mode < 2; mode++) {
        if (mode) presence_by_slot(f);
        att_report rep;
        OK(att_report_build(f->a, &q, &rep, &e_));
        const att_row *old = NULL, *now = NULL;
        for (size_t i = 0; i < rep.nrows; i++) {
            const att_row *w = &rep.rows[i];
            if (w->person_id != f->ann) continue;
            if (!strcmp(w->day, "2026-03-02")) old = w;
            if (!strcmp(w->day, "2026-03-09")) now = w;
        }
        assert_non_null(old);
        assert_int_equal(old->schedule_id, f->sched_mon);
        assert_int_equal(old->start_ms, at(f, 2026, 3, 2, 8, 0, 0));
        assert_true(old->present);
        assert_non_null(now);
        assert_int_equal(now->schedule_id, maths.id);
        assert_int_equal(now->start_ms, at(f, 2026, 3, 9, 11, 0, 0));
        assert_true(now->present);
        assert_false(now->late);
        /* Wednesday 4 March's Art is still there (absent, both); none on
         * the 11th. */
        assert_non_null(row_of(&rep, f->bob, art.id));
        assert_true(row_of(&rep, f->bob, art.id)->absent);
        for (size_t i = 0; i < rep.nrows; i++)
            assert_false(rep.rows[i].schedule_id == art.id &&
                         strcmp(rep.rows[i].day, "2026-03-04") != 0);
        /* Bob: 2 March Maths, 4 March Art, 9 March Maths. */
        assert_int_equal(absences_of(&rep, f->bob), 3);
        att_report_free(&rep);
    }
}

/* Bob moves from 7B (Maths, Monday 08:00) to 7C (Lengua, Monday 11:00) on
 * Monday 9 March, before class: 2 March stays a 7B day (his Maths absence
 * kept), from the 9th he is judged by 7C's timetable, live events pick
 * 7C's slot, and 7B's report still shows him on the days he was in it. */
static void a_moved_pupil_keeps_past_days_under_the_old_group(void **state)
{
    fx *f = *state;
    store_group c7 = {0};
    snprintf(c7.name, sizeof c7.name, "7C");
    OK(store_group_create(f->s, &c7, &e_));
    store_schedule lengua = {.group_id = c7.id, .dow = 1, .start_min = 660, .end_min = 720};
    snprintf(lengua.label, sizeof lengua.label, "Lengua");
    OK(store_schedule_create(f->s, &lengua, &e_));
    int64_t moved = at(f, 2026, 3, 9, 7, 0, 0);
    OK(store_group_leave(f->s, f->group, f->bob, moved, &e_));
    OK(store_group_join(f->s, c7.id, f->bob, moved, &e_));
    att_result r = see(f, f->bob, f->cam_in, at(f, 2026, 3, 16, 10, 58, 0), 0.9);
    assert_int_equal(r.event.schedule_id, lengua.id);
    int64_t *ids;
    size_t n;
    OK(store_group_members(f->s, f->group, &ids, &n, &e_));
    assert_int_equal(n, 1); /* 7B now: Ann */
    free(ids);

    att_query q = {
        .from_day = "2026-03-02", .to_day = "2026-03-16", .now_ms = at(f, 2026, 4, 1, 0, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    int maths = 0, len = 0;
    for (size_t i = 0; i < rep.nrows; i++) {
        const att_row *w = &rep.rows[i];
        if (w->person_id != f->bob) continue;
        if (w->schedule_id == f->sched_mon) {
            maths++;
            assert_string_equal(w->day, "2026-03-02");
            assert_true(w->absent);
        }
        if (w->schedule_id == lengua.id) {
            len++;
            assert_true(strcmp(w->day, "2026-03-09") >= 0);
        }
    }
    assert_int_equal(maths, 1);
    assert_int_equal(len, 2);                       /* 9 March absent, 16 March present */
    assert_int_equal(absences_of(&rep, f->bob), 2); /* 2 March Maths, 9 March Lengua */
    att_report_free(&rep);
    /* 7B's report: Bob on 2 March still. */
    q.group_id = f->group;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(absences_of(&rep, f->bob), 1);
    att_report_free(&rep);
    /* Back in 7B from 16 March: that Monday is 7B's (and 7C's) again, the
     * 9th is not. */
    OK(store_group_join(f->s, f->group, f->bob, at(f, 2026, 3, 16, 7, 0, 0), &e_));
    q.group_id = 0;
    OK(att_report_build(f->a, &q, &rep, &e_));
    maths = 0;
    for (size_t i = 0; i < rep.nrows; i++)
        if (rep.rows[i].person_id == f->bob && rep.rows[i].schedule_id == f->sched_mon) {
            maths++;
            assert_true(strcmp(rep.rows[i].day, "2026-03-09") != 0);
        }
    assert_int_equal(maths, 2);
    att_report_free(&rep);
}

/* ---- presence by day: one kiosk at the door -------------------------------- */

typedef struct {
    int64_t group, maths, lengua; /* 1º ESO A, Monday: 08:30-11:15 and 11:45-14:30, grace 5 */
    int64_t p[4];
} door_day;

/* Four students of 1º ESO A on Monday 2 March, seen only at the door:
 *  p[0] in 08:25, out 14:35; p[1] in 08:28, out 12:00; p[2] in 12:10 only;
 *  p[3] in 08:25, out 10:00, in again 12:00. */
static void door_day_setup(fx *f, door_day *d)
{
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "1º ESO A");
    OK(store_group_create(f->s, &g, &e_));
    store_schedule m = {
        .group_id = g.id, .dow = 1, .start_min = 510, .end_min = 675, .grace_min = 5};
    snprintf(m.label, sizeof m.label, "Matemáticas");
    OK(store_schedule_create(f->s, &m, &e_));
    store_schedule l = {
        .group_id = g.id, .dow = 1, .start_min = 705, .end_min = 870, .grace_min = 5};
    snprintf(l.label, sizeof l.label, "Lengua");
    OK(store_schedule_create(f->s, &l, &e_));
    d->group = g.id;
    d->maths = m.id;
    d->lengua = l.id;
    const char *names[4] = {"Dani", "Elena", "Fran", "Gema"};
    for (int i = 0; i < 4; i++) {
        char ext[8];
        snprintf(ext, sizeof ext, "D%d", i);
        d->p[i] = person(f->s, ext, names[i]);
        OK(store_group_join(f->s, g.id, d->p[i], 1767225600000LL, &e_));
    }
    att_result r = see(f, d->p[0], f->cam_in, at(f, 2026, 3, 2, 8, 25, 0), 0.9);
    assert_string_equal(r.event.status, "on_time"); /* what the kiosk says */
    r = see(f, d->p[0], f->cam_out, at(f, 2026, 3, 2, 14, 35, 0), 0.9);
    assert_string_equal(r.event.status, "on_time");
    see(f, d->p[1], f->cam_in, at(f, 2026, 3, 2, 8, 28, 0), 0.9);
    r = see(f, d->p[1], f->cam_out, at(f, 2026, 3, 2, 12, 0, 0), 0.9);
    assert_string_equal(r.event.status, "early_leave");
    r = see(f, d->p[2], f->cam_in, at(f, 2026, 3, 2, 12, 10, 0), 0.9);
    assert_string_equal(r.event.status, "late");
    see(f, d->p[3], f->cam_in, at(f, 2026, 3, 2, 8, 25, 0), 0.9);
    see(f, d->p[3], f->cam_out, at(f, 2026, 3, 2, 10, 0, 0), 0.9);
    see(f, d->p[3], f->cam_in, at(f, 2026, 3, 2, 12, 0, 0), 0.9);
}

static void door_report(fx *f, int64_t now_ms, att_report *rep)
{
    att_query q = {.from_day = "2026-03-02", .to_day = "2026-03-02", .now_ms = now_ms};
    OK(att_report_build(f->a, &q, rep, &e_));
}

static const att_person_summary *summary_of(const att_report *rep, int64_t p)
{
    for (size_t i = 0; i < rep->npeople; i++)
        if (rep->people[i].person_id == p) return &rep->people[i];
    return NULL;
}

/* Checks one row: status, late, early leave, minutes on site. */
#define ROW_IS(rep, who, sc, st, lt, el, min)                                                      \
    do {                                                                                           \
        const att_row *r_ = row_of(rep, who, sc);                                                  \
        assert_non_null(r_);                                                                       \
        assert_string_equal(r_->status, st);                                                       \
        assert_int_equal(r_->late, lt);                                                            \
        assert_int_equal(r_->early_leave, el);                                                     \
        assert_int_equal(r_->on_site_ms, (int64_t)(min)*60000);                                    \
    } while (0)

/* Part of a day's leave, judged by day or by slot. Monday: Maths 08:00-10:00
 * and Physics 11:00-13:00, grace 5. Ann's doctor 07:30-09:00 covers Maths'
 * start: in at 08:50 (by 09:05) is not late; Physics, untouched, is late at
 * 11:20. Bob's 09:30-13:00 covers Maths' end: out at 09:28 (from 09:25) is
 * no early leave, but in at 08:10 is late (the start is not covered);
 * Physics, wholly inside, is "leave". Cleo's 07:00-09:00, not seen: Maths
 * pending until 09:05, then absent; Physics absent as usual. Dan's whole
 * day covers both: in late and out early, Maths is present, neither. */
static void part_day_leave(fx *f)
{
    store_schedule ph = {
        .group_id = f->group, .dow = 1, .start_min = 660, .end_min = 780, .grace_min = 5};
    snprintf(ph.label, sizeof ph.label, "Physics");
    OK(store_schedule_create(f->s, &ph, &e_));
    int64_t cleo = person(f->s, "S3", "Cleo"), dan = person(f->s, "S4", "Dan");
    OK(store_group_join(f->s, f->group, cleo, 1767225600000LL, &e_));
    OK(store_group_join(f->s, f->group, dan, 1767225600000LL, &e_));
    leave(f, dan, "personal", "2026-03-02", "2026-03-02"); /* the whole day */
    OK(att_reload(f->a, &e_));
    struct {
        int64_t who;
        int from_min, to_min;
    } part[] = {{f->ann, 450, 540}, {f->bob, 570, 780}, {cleo, 420, 540}};
    for (size_t i = 0; i < 3; i++) {
        store_leave l = {.person_id = part[i].who,
                         .kind = "justified",
                         .from_day = "2026-03-02",
                         .to_day = "2026-03-02",
                         .from_min = part[i].from_min,
                         .to_min = part[i].to_min};
        OK(store_leave_add(f->s, &l, &e_));
    }
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 8, 50, 0), 0.9);
    see(f, f->ann, f->cam_out, at(f, 2026, 3, 2, 10, 0, 0), 0.9);
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 11, 20, 0), 0.9);
    see(f, f->ann, f->cam_out, at(f, 2026, 3, 2, 13, 0, 0), 0.9);
    see(f, f->bob, f->cam_in, at(f, 2026, 3, 2, 8, 10, 0), 0.9);
    see(f, f->bob, f->cam_out, at(f, 2026, 3, 2, 9, 28, 0), 0.9);
    see(f, dan, f->cam_in, at(f, 2026, 3, 2, 8, 40, 0), 0.9); /* came anyway, late ... */
    see(f, dan, f->cam_out, at(f, 2026, 3, 2, 9, 0, 0), 0.9); /* ... and left early */
    att_query q = {.from_day = "2026-03-02",
                   .to_day = "2026-03-02",
                   .group_id = f->group,
                   .now_ms = at(f, 2026, 3, 2, 20, 0, 0)};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_int_equal(rep.nrows, 8);
    struct {
        int64_t who, sc;
        const char *status, *kind;
        int late, early, leave;
    } want[] = {
        {f->ann, f->sched_mon, "present", "justified", 0, 0, 0}, /* was late */
        {f->ann, ph.id, "late", "", 1, 0, 0},                    /* untouched */
        {f->bob, f->sched_mon, "late", "justified", 1, 0, 0},    /* was an early leave */
        {f->bob, ph.id, "leave", "justified", 0, 0, 1},
        {cleo, f->sched_mon, "absent", "justified", 0, 0, 0},
        {cleo, ph.id, "absent", "", 0, 0, 0},
        {dan, f->sched_mon, "present", "personal", 0, 0, 0}, /* a day's leave covers it all */
        {dan, ph.id, "leave", "personal", 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const att_row *r = row_of(&rep, want[i].who, want[i].sc);
        assert_non_null(r);
        if (strcmp(r->status, want[i].status) || r->late != want[i].late ||
            r->early_leave != want[i].early || r->leave != want[i].leave ||
            strcmp(r->leave_kind, want[i].kind))
            fail_msg("row %zu: %s late %d early %d leave %d kind '%s'", i, r->status, r->late,
                     r->early_leave, r->leave, r->leave_kind);
        /* What a leave excuses counts no payroll minutes either. */
        if (!r->late) assert_int_equal(r->minutes_late, 0);
        if (!r->early_leave) assert_int_equal(r->minutes_early_leave, 0);
    }
    assert_int_equal(row_of(&rep, f->ann, ph.id)->minutes_late, 20);
    assert_int_equal(row_of(&rep, f->bob, f->sched_mon)->minutes_late, 10);
    for (size_t i = 0; i < rep.npeople; i++) {
        const att_person_summary *p = &rep.people[i];
        assert_int_equal(p->late, p->person_id == f->ann || p->person_id == f->bob);
        assert_int_equal(p->early_leave, 0);
        assert_int_equal(p->leave, p->person_id == f->bob || p->person_id == dan);
        assert_int_equal(p->absent, 2 * (p->person_id == cleo));
        assert_int_equal(p->minutes_late, p->person_id == f->ann   ? 20
                                          : p->person_id == f->bob ? 10
                                                                   : 0);
        assert_int_equal(p->minutes_early_leave, 0);
    }
    att_report_free(&rep);
    /* Cleo at 09:04: Maths waits for the leave's end + grace; at 09:06 it is absent. */
    q.now_ms = at(f, 2026, 3, 2, 9, 4, 0);
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_string_equal(row_of(&rep, cleo, f->sched_mon)->status, "pending");
    att_report_free(&rep);
    q.now_ms = at(f, 2026, 3, 2, 9, 6, 0);
    OK(att_report_build(f->a, &q, &rep, &e_));
    assert_string_equal(row_of(&rep, cleo, f->sched_mon)->status, "absent");
    att_report_free(&rep);
}

static void part_day_leave_by_day(void **state)
{
    part_day_leave(*state);
}

static void part_day_leave_by_slot(void **state)
{
    fx *f = *state;
    presence_by_slot(f);
    part_day_leave(f);
}

/* The default: in from an entry until the next exit, so the second class of
 * a day seen only at the door is attended. */
static void door_day_counts_the_time_in(void **state)
{
    fx *f = *state;
    att_config c;
    att_get_config(f->a, &c);
    assert_int_equal(c.presence, ATT_PRESENCE_DAY); /* the default */
    door_day d;
    door_day_setup(f, &d);
    att_report rep;
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    /* In 08:25-14:35: both on time, each with its whole slot on site. */
    ROW_IS(&rep, d.p[0], d.maths, "present", 0, 0, 165);
    ROW_IS(&rep, d.p[0], d.lengua, "present", 0, 0, 165);
    assert_int_equal(row_of(&rep, d.p[0], d.lengua)->first_entry_ms, at(f, 2026, 3, 2, 8, 25, 0));
    assert_int_equal(row_of(&rep, d.p[0], d.lengua)->last_exit_ms, at(f, 2026, 3, 2, 14, 35, 0));
    const att_person_summary *s0 = summary_of(&rep, d.p[0]);
    assert_int_equal(s0->present, 2);
    assert_int_equal(s0->absent, 0);
    assert_int_equal(s0->on_site_ms, 370 * 60000LL); /* 08:25-14:35 */
    /* In 08:28, out 12:00: Matemáticas, and Lengua with an early leave. */
    ROW_IS(&rep, d.p[1], d.maths, "present", 0, 0, 165);
    ROW_IS(&rep, d.p[1], d.lengua, "present", 0, 1, 15);
    assert_int_equal(summary_of(&rep, d.p[1])->early_leave, 1);
    /* In at 12:10 only: absent from Matemáticas (no times shown), late to Lengua. */
    ROW_IS(&rep, d.p[2], d.maths, "absent", 0, 0, 0);
    assert_int_equal(row_of(&rep, d.p[2], d.maths)->first_entry_ms, 0);
    assert_int_equal(row_of(&rep, d.p[2], d.maths)->last_exit_ms, 0);
    ROW_IS(&rep, d.p[2], d.lengua, "late", 1, 0, 140); /* up to the slot's end */
    assert_int_equal(row_of(&rep, d.p[2], d.lengua)->first_entry_ms, at(f, 2026, 3, 2, 12, 10, 0));
    /* In 08:25, out 10:00, in 12:00: an early leave, then late. */
    ROW_IS(&rep, d.p[3], d.maths, "present", 0, 1, 90);
    assert_int_equal(row_of(&rep, d.p[3], d.maths)->last_exit_ms, at(f, 2026, 3, 2, 10, 0, 0));
    ROW_IS(&rep, d.p[3], d.lengua, "late", 1, 0, 150);
    assert_int_equal(row_of(&rep, d.p[3], d.lengua)->first_entry_ms, at(f, 2026, 3, 2, 12, 0, 0));
    assert_int_equal(row_of(&rep, d.p[3], d.lengua)->last_exit_ms, 0);
    assert_int_equal(summary_of(&rep, d.p[3])->on_site_ms, (95 + 150) * 60000LL);
    const att_group_summary *g = NULL;
    for (size_t i = 0; i < rep.ngroups; i++)
        if (rep.groups[i].slots == 8) g = &rep.groups[i];
    assert_non_null(g);
    assert_int_equal(g->present, 7);
    assert_int_equal(g->absent, 1);
    assert_int_equal(g->late, 2);
    assert_int_equal(g->early_leave, 2);
    /* The day counts people: all four came, two late, two left early. */
    att_day *days = NULL;
    size_t nd = 0;
    att_query q7 = {.from_day = "2026-03-02",
                    .to_day = "2026-03-02",
                    .group_id = g->group_id,
                    .now_ms = at(f, 2026, 3, 20, 0, 0, 0)};
    att_report_free(&rep);
    OK(att_report_build(f->a, &q7, &rep, &e_));
    OK(att_report_days(&rep, &days, &nd, &e_));
    assert_int_equal(nd, 1);
    assert_int_equal(days[0].present, 4);
    assert_int_equal(days[0].absent, 0);
    free(days);
    att_report_free(&rep);

    /* Who is missing at 12:30: only Fran, from Matemáticas. */
    door_report(f, at(f, 2026, 3, 2, 12, 30, 0), &rep);
    att_report_keep_absent(&rep, "2026-03-02");
    size_t in_group = 0;
    for (size_t i = 0; i < rep.nrows; i++)
        if (rep.rows[i].schedule_id == d.maths || rep.rows[i].schedule_id == d.lengua) {
            in_group++;
            assert_int_equal(rep.rows[i].person_id, d.p[2]);
            assert_int_equal(rep.rows[i].schedule_id, d.maths);
        }
    assert_int_equal(in_group, 1);
    att_report_free(&rep);
    /* At 12:05 Dani is in Lengua (in since 08:25), and Gema, back at 12:00,
     * has been in it for five minutes. */
    door_report(f, at(f, 2026, 3, 2, 12, 5, 0), &rep);
    assert_string_equal(row_of(&rep, d.p[0], d.lengua)->status, "present");
    assert_int_equal(row_of(&rep, d.p[3], d.lengua)->on_site_ms, 5 * 60000LL);
    att_report_free(&rep);

    /* Hugo came in at 08:20 and has not gone out: at 10:00 Lengua is still
     * to come (whether he stays is not known yet); at 11:50 he is in it. */
    int64_t hugo = person(f->s, "D4", "Hugo");
    OK(store_group_join(f->s, d.group, hugo, 1767225600000LL, &e_));
    see(f, hugo, f->cam_in, at(f, 2026, 3, 2, 8, 20, 0), 0.9);
    door_report(f, at(f, 2026, 3, 2, 10, 0, 0), &rep);
    ROW_IS(&rep, hugo, d.maths, "present", 0, 0, 90);
    ROW_IS(&rep, hugo, d.lengua, "pending", 0, 0, 0);
    assert_int_equal(summary_of(&rep, hugo)->on_site_ms, 100 * 60000LL); /* 08:20 to now */
    att_report_free(&rep);
    door_report(f, at(f, 2026, 3, 2, 11, 50, 0), &rep);
    ROW_IS(&rep, hugo, d.lengua, "present", 0, 0, 5);
    att_report_free(&rep);
    /* The day over with no exit: he counts as in up to the end of the last slot. */
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    ROW_IS(&rep, hugo, d.lengua, "present", 0, 0, 165);
    assert_int_equal(summary_of(&rep, hugo)->on_site_ms, 370 * 60000LL); /* 08:20-14:30 */
    assert_int_equal(row_of(&rep, hugo, d.lengua)->last_exit_ms, 0);
    att_report_free(&rep);
}

/* presence_mode "slot": the same day judged as before, an entry in each slot. */
/* One camera at the door for both ways (or a kiosk left on automatic): by
 * day a person out enters and a person in leaves; a sighting within
 * min_stay_s of the day's last event is that event. Before, rule 4 worked
 * per slot: a student leaving at 14:35, with no entry in Lengua, was an
 * "entry, late" to it (the kiosk said so to them) and their day never
 * ended. By slot it still is. */
static void a_door_camera_for_both_ways_goes_by_the_day(void **state)
{
    fx *f = *state;
    door_day d;
    door_day_setup(f, &d);
    int64_t ana = person(f->s, "D8", "Ana"), bea = person(f->s, "D9", "Bea");
    OK(store_group_join(f->s, d.group, ana, 1767225600000LL, &e_));
    OK(store_group_join(f->s, d.group, bea, 1767225600000LL, &e_));
    att_result r = see(f, ana, 0, at(f, 2026, 3, 2, 8, 25, 0), 0.9);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "entry");
    assert_string_equal(r.event.status, "on_time");
    r = see(f, ana, 0, at(f, 2026, 3, 2, 8, 31, 0), 0.9); /* still at the door */
    assert_int_equal(r.outcome, ATT_MERGED);
    assert_string_equal(r.event.kind, "entry");
    r = see(f, ana, 0, at(f, 2026, 3, 2, 14, 35, 0), 0.9);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "exit");
    assert_string_equal(r.event.status, "on_time");
    int64_t out_id = r.event.id;
    r = see(f, ana, 0, at(f, 2026, 3, 2, 14, 41, 0), 0.9); /* the last one wins */
    assert_int_equal(r.outcome, ATT_MOVED);
    assert_int_equal(r.event.id, out_id);
    assert_int_equal(r.event.ts_ms, at(f, 2026, 3, 2, 14, 41, 0));
    /* Bea leaves at 12:00 and comes back at 13:10 (min_stay_s is an hour
     * here): an early leave, then late. */
    see(f, bea, 0, at(f, 2026, 3, 2, 8, 20, 0), 0.9);
    r = see(f, bea, 0, at(f, 2026, 3, 2, 12, 0, 0), 0.9);
    assert_string_equal(r.event.kind, "exit");
    assert_string_equal(r.event.status, "early_leave");
    r = see(f, bea, 0, at(f, 2026, 3, 2, 13, 10, 0), 0.9);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "entry");
    assert_string_equal(r.event.status, "late");
    att_report rep;
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    ROW_IS(&rep, ana, d.maths, "present", 0, 0, 165);
    ROW_IS(&rep, ana, d.lengua, "present", 0, 0, 165);
    assert_int_equal(summary_of(&rep, ana)->on_site_ms, (6 * 60 + 16) * 60000LL);
    /* In at Lengua's start, out 12:00-13:10 and in to the end: attended,
     * its 95 minutes in (the events keep their own statuses). */
    ROW_IS(&rep, bea, d.lengua, "present", 0, 0, 15 + 80);
    att_report_free(&rep);
    /* By slot the same camera gives the old answer: an entry in each slot. */
    presence_by_slot(f);
    int64_t cris = person(f->s, "D10", "Cris");
    OK(store_group_join(f->s, d.group, cris, 1767225600000LL, &e_));
    see(f, cris, 0, at(f, 2026, 3, 2, 8, 25, 0), 0.9);
    r = see(f, cris, 0, at(f, 2026, 3, 2, 14, 35, 0), 0.9);
    assert_string_equal(r.event.kind, "entry");
    assert_string_equal(r.event.status, "late");
}

/* By day, an arrival long before the first class and a departure long
 * after the last are judged against those classes (the kiosk card and the
 * event say "on time", as every report counts them), and someone who lingers
 * in view of a door camera is not leaving or coming back each time they are
 * seen again: min_stay_s runs from the last sighting. */
static void door_day_early_late_and_lingering(void **state)
{
    fx *f = *state;
    OK(store_setting_set(f->s, "min_stay_s", "600", &e_));
    OK(att_reload(f->a, &e_));
    door_day d;
    door_day_setup(f, &d);
    int64_t hugo = person(f->s, "D11", "Hugo"), iker = person(f->s, "D12", "Iker");
    OK(store_group_join(f->s, d.group, hugo, 1767225600000LL, &e_));
    OK(store_group_join(f->s, d.group, iker, 1767225600000LL, &e_));
    /* 07:15: more than slot_margin_min (60) before Matemáticas at 08:30. */
    att_result r = see(f, hugo, 0, at(f, 2026, 3, 2, 7, 15, 0), 0.9);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "entry");
    assert_string_equal(r.event.status, "on_time"); /* was "outside" */
    assert_int_equal(r.event.schedule_id, d.maths);
    /* 16:00: more than an hour after Lengua ended at 14:30. */
    r = see(f, hugo, 0, at(f, 2026, 3, 2, 16, 0, 0), 0.9);
    assert_string_equal(r.event.kind, "exit");
    assert_string_equal(r.event.status, "on_time");
    assert_int_equal(r.event.schedule_id, d.lengua);
    r = see(f, hugo, 0, at(f, 2026, 3, 2, 16, 8, 0), 0.9); /* moved, still Lengua's */
    assert_int_equal(r.outcome, ATT_MOVED);
    assert_int_equal(r.event.schedule_id, d.lengua);
    assert_string_equal(r.event.status, "on_time");
    /* A manual entry at 07:00 is made for Matemáticas too. */
    int64_t jon = person(f->s, "D13", "Jon");
    OK(store_group_join(f->s, d.group, jon, 1767225600000LL, &e_));
    store_event man;
    OK(att_manual(f->a, jon, at(f, 2026, 3, 2, 7, 0, 0), "entry", "forgot", "mgr", &man, &e_));
    assert_int_equal(man.schedule_id, d.maths);
    assert_string_equal(man.status, "on_time");
    /* Iker stays at the door 08:20-08:36, seen every 4 minutes (merged by
     * the 5-minute window), steps away and is seen again at 08:42: 22
     * minutes after his entry, but 6 after he was last seen. */
    for (int m = 20; m <= 36; m += 4) {
        r = see(f, iker, 0, at(f, 2026, 3, 2, 8, m, 0), 0.9);
        assert_string_equal(r.event.kind, "entry");
    }
    r = see(f, iker, 0, at(f, 2026, 3, 2, 8, 42, 0), 0.9);
    assert_int_equal(r.outcome, ATT_MERGED); /* was a new "exit" */
    assert_string_equal(r.event.kind, "entry");
    r = see(f, iker, 0, at(f, 2026, 3, 2, 14, 35, 0), 0.9);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "exit");
    for (int m = 39; m <= 43; m += 4) see(f, iker, 0, at(f, 2026, 3, 2, 14, m, 0), 0.9);
    r = see(f, iker, 0, at(f, 2026, 3, 2, 14, 50, 0), 0.9);
    assert_int_equal(r.outcome, ATT_MOVED); /* was a new "entry" */
    assert_string_equal(r.event.kind, "exit");
    /* Kai drops in at 07:00 and leaves at 07:15: his entry is made for
     * Matemáticas, but he was not there when it began. */
    int64_t kai = person(f->s, "D14", "Kai"), leo = person(f->s, "D15", "Leo"),
            mia = person(f->s, "D16", "Mia");
    for (int i = 0; i < 3; i++)
        OK(store_group_join(f->s, d.group, (int64_t[]){kai, leo, mia}[i], 1767225600000LL, &e_));
    see(f, kai, f->cam_in, at(f, 2026, 3, 2, 7, 0, 0), 0.9);
    see(f, kai, f->cam_out, at(f, 2026, 3, 2, 7, 15, 0), 0.9);
    /* Leo comes at 11:20, in the break: on time for Lengua at 11:45, not
     * late to Matemáticas, which ended at 11:15 (the nearest slot). */
    r = see(f, leo, 0, at(f, 2026, 3, 2, 11, 20, 0), 0.9);
    assert_int_equal(r.event.schedule_id, d.lengua);
    assert_string_equal(r.event.status, "on_time");
    /* Mia comes at 15:20, 50 minutes after the last class ended: outside
     * the timetable, not late to Lengua. */
    r = see(f, mia, 0, at(f, 2026, 3, 2, 15, 20, 0), 0.9);
    assert_int_equal(r.event.schedule_id, 0);
    assert_string_equal(r.event.status, "outside");
    att_report rep;
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    ROW_IS(&rep, hugo, d.maths, "present", 0, 0, 165);
    ROW_IS(&rep, hugo, d.lengua, "present", 0, 0, 165);
    ROW_IS(&rep, iker, d.maths, "present", 0, 0, 165);
    ROW_IS(&rep, iker, d.lengua, "present", 0, 0, 165);
    ROW_IS(&rep, kai, d.maths, "absent", 0, 0, 0);
    ROW_IS(&rep, kai, d.lengua, "absent", 0, 0, 0);
    ROW_IS(&rep, leo, d.maths, "absent", 0, 0, 0);
    ROW_IS(&rep, leo, d.lengua, "present", 0, 0, 165);
    ROW_IS(&rep, mia, d.lengua, "absent", 0, 0, 0);
    att_report_free(&rep);
}

/* By day, a night shift (Monday 22:00 to Tuesday 06:00) left at 07:10,
 * past its end and its margin, is an exit of that shift, not a new entry;
 * a day slot's forgotten exit does not make the next morning's arrival a
 * departure. */
static void door_day_night_shift_left_late(void **state)
{
    fx *f = *state;
    int64_t pablo = person(f->s, "N1", "Pablo");
    store_schedule night = {
        .person_id = pablo, .dow = 1, .start_min = 22 * 60, .end_min = 6 * 60, .grace_min = 5};
    snprintf(night.label, sizeof night.label, "Noche");
    OK(store_schedule_create(f->s, &night, &e_));
    att_result r = see(f, pablo, 0, at(f, 2026, 3, 2, 21, 55, 0), 0.9);
    assert_string_equal(r.event.kind, "entry");
    assert_int_equal(r.event.schedule_id, night.id);
    r = see(f, pablo, 0, at(f, 2026, 3, 3, 7, 10, 0), 0.9);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "exit"); /* was a new "entry" */
    assert_int_equal(r.event.schedule_id, night.id);
    assert_string_equal(r.event.status, "on_time");
    r = see(f, pablo, 0, at(f, 2026, 3, 3, 7, 30, 0), 0.9); /* lingering: the exit moves */
    assert_int_equal(r.outcome, ATT_MOVED);
    assert_string_equal(r.event.kind, "exit");
    /* Ann (Monday 08:00-10:00) forgot to clock out; Tuesday morning she
     * arrives. */
    r = see(f, f->ann, 0, at(f, 2026, 3, 2, 8, 0, 0), 0.9);
    assert_string_equal(r.event.kind, "entry");
    r = see(f, f->ann, 0, at(f, 2026, 3, 3, 8, 0, 0), 0.9);
    assert_string_equal(r.event.kind, "entry");
}

/* A night slot of its own (Monday 22:00 to Tuesday 06:00, grace 5). */
static int64_t night_slot(fx *f, int64_t who)
{
    store_schedule sc = {
        .person_id = who, .dow = 1, .start_min = 22 * 60, .end_min = 6 * 60, .grace_min = 5};
    snprintf(sc.label, sizeof sc.label, "Noche");
    OK(store_schedule_create(f->s, &sc, &e_));
    return sc.id;
}

static att_report report_at(fx *f, const char *from, const char *to, int64_t now_ms)
{
    att_query q = {.from_day = from, .to_day = to, .now_ms = now_ms};
    att_report rep;
    OK(att_report_build(f->a, &q, &rep, &e_));
    return rep;
}

/* How many rows of person p a report has. */
static size_t rows_of(const att_report *rep, int64_t p)
{
    size_t n = 0;
    for (size_t i = 0; i < rep->nrows; i++) n += rep->rows[i].person_id == p;
    return n;
}

/* By day a stay belongs to the day (and slot) it began in: a night shift in
 * at 21:55 on Monday and out at 06:05 on Tuesday is one stay, judged with
 * its real exit; out at 03:00 is an early leave. Before, stays were cut at
 * local midnight: the shift counted only up to 06:00 with no exit shown,
 * and the early leave after midnight was not seen. */
static void door_day_night_shift_across_midnight(void **state)
{
    fx *f = *state;
    int64_t pablo = person(f->s, "N1", "Pablo"), quim = person(f->s, "N2", "Quim");
    int64_t pn = night_slot(f, pablo), qn = night_slot(f, quim);
    see(f, pablo, f->cam_in, at(f, 2026, 3, 2, 21, 55, 0), 0.9);
    see(f, pablo, f->cam_out, at(f, 2026, 3, 3, 6, 5, 0), 0.9);
    see(f, quim, f->cam_in, at(f, 2026, 3, 2, 21, 58, 0), 0.9);
    att_result r = see(f, quim, f->cam_out, at(f, 2026, 3, 3, 3, 0, 0), 0.9);
    assert_string_equal(r.event.status, "early_leave"); /* what the kiosk said */
    att_report rep = report_at(f, "2026-03-02", "2026-03-03", at(f, 2026, 3, 20, 0, 0, 0));
    ROW_IS(&rep, pablo, pn, "present", 0, 0, 480);
    const att_row *pr = row_of(&rep, pablo, pn);
    assert_string_equal(pr->day, "2026-03-02");
    assert_int_equal(pr->last_exit_ms, at(f, 2026, 3, 3, 6, 5, 0)); /* was none */
    assert_int_equal(pr->outside_ms, 10 * 60000LL); /* 21:55-22:00 and 06:00-06:05 */
    assert_int_equal(pr->missing_exit, 0);
    const att_person_summary *ps = summary_of(&rep, pablo);
    assert_int_equal(ps->on_site_ms, 490 * 60000LL); /* to 06:05; was 485, to 06:00 */
    assert_int_equal(ps->outside_ms, 10 * 60000LL);
    assert_int_equal(ps->missing_exits, 0);
    assert_int_equal(ps->last_exit_ms, at(f, 2026, 3, 3, 6, 5, 0));
    assert_int_equal(rows_of(&rep, pablo), 1); /* Monday's; none on Tuesday */
    /* Out at 03:00: an early leave, five hours in the slot. */
    ROW_IS(&rep, quim, qn, "present", 0, 1, 300); /* was no early leave, 480 */
    assert_int_equal(row_of(&rep, quim, qn)->last_exit_ms, at(f, 2026, 3, 3, 3, 0, 0));
    assert_int_equal(summary_of(&rep, quim)->early_leave, 1);
    assert_int_equal(summary_of(&rep, quim)->on_site_ms, 302 * 60000LL);
    assert_int_equal(rows_of(&rep, quim), 1);
    att_report_free(&rep);
    /* Tuesday alone: nothing of theirs (the stays are Monday's). */
    rep = report_at(f, "2026-03-03", "2026-03-03", at(f, 2026, 3, 20, 0, 0, 0));
    assert_int_equal(rows_of(&rep, pablo), 0);
    assert_int_equal(summary_of(&rep, pablo)->on_site_ms, 0);
    assert_int_equal(rows_of(&rep, quim), 0);
    att_report_free(&rep);
}

/* By day, a night shift (Monday 22:00 to Tuesday 06:00) handed over to a
 * morning shift (Tuesday 06:00-14:00): the sighting at 06:05, while the
 * night's stay is open, is that stay's exit (on time, Monday's night slot),
 * and frames of it within the de-duplication window merge into it, at any
 * camera; the next sighting after the window is the morning slot's entry.
 * Before, 06:05 was an "early leave" from the morning slot (the slot under
 * way) and the next sighting moved that exit; a door camera made a second
 * exit of the next frame. */
static void door_day_night_shift_handed_over_to_the_morning(void **state)
{
    fx *f = *state;
    int64_t sara = person(f->s, "N3", "Sara"), tito = person(f->s, "N4", "Tito");
    int64_t sn = night_slot(f, sara), tn = night_slot(f, tito);
    store_schedule am = {
        .person_id = sara, .dow = 2, .start_min = 6 * 60, .end_min = 14 * 60, .grace_min = 15};
    snprintf(am.label, sizeof am.label, "Mañana");
    OK(store_schedule_create(f->s, &am, &e_));
    store_schedule tm = am;
    tm.person_id = tito;
    OK(store_schedule_create(f->s, &tm, &e_));
    /* Sara at a camera for both ways. */
    att_result r = see(f, sara, 0, at(f, 2026, 3, 2, 21, 55, 0), 0.9);
    assert_int_equal(r.event.schedule_id, sn);
    r = see(f, sara, 0, at(f, 2026, 3, 3, 6, 5, 0), 0.9);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_string_equal(r.event.kind, "exit");
    assert_int_equal(r.event.schedule_id, sn); /* was the morning slot */
    assert_string_equal(r.event.slot_day, "2026-03-02");
    assert_string_equal(r.event.status, "on_time"); /* was "early_leave" */
    int64_t out = r.event.id;
    r = see(f, sara, 0, at(f, 2026, 3, 3, 6, 8, 0), 0.9); /* within the window */
    assert_int_equal(r.event.id, out);
    assert_string_equal(r.event.kind, "exit");
    assert_int_equal(r.event.schedule_id, sn);
    r = see(f, sara, 0, at(f, 2026, 3, 3, 6, 14, 0), 0.9); /* after it */
    assert_int_equal(r.outcome, ATT_NEW);                  /* was the exit, moved */
    assert_string_equal(r.event.kind, "entry");
    assert_int_equal(r.event.schedule_id, am.id);
    assert_string_equal(r.event.slot_day, "2026-03-03");
    assert_string_equal(r.event.status, "on_time");
    r = see(f, sara, 0, at(f, 2026, 3, 3, 14, 2, 0), 0.9);
    assert_string_equal(r.event.kind, "exit");
    assert_int_equal(r.event.schedule_id, am.id);
    assert_string_equal(r.event.status, "on_time");
    /* Tito at door cameras: the second frame of his exit is the same exit. */
    see(f, tito, f->cam_in, at(f, 2026, 3, 2, 21, 58, 0), 0.9);
    r = see(f, tito, f->cam_out, at(f, 2026, 3, 3, 6, 5, 0), 0.9);
    assert_int_equal(r.event.schedule_id, tn);
    assert_string_equal(r.event.status, "on_time");
    out = r.event.id;
    r = see(f, tito, f->cam_out, at(f, 2026, 3, 3, 6, 5, 1), 0.9);
    assert_int_equal(r.outcome, ATT_MERGED); /* was a second exit */
    assert_int_equal(r.event.id, out);
    r = see(f, tito, f->cam_in, at(f, 2026, 3, 3, 6, 20, 0), 0.9);
    assert_string_equal(r.event.kind, "entry");
    assert_int_equal(r.event.schedule_id, tm.id);
    assert_string_equal(r.event.status, "late");
    /* The report: the night on Monday with its exit, the morning on Tuesday. */
    att_report rep = report_at(f, "2026-03-02", "2026-03-03", at(f, 2026, 3, 20, 0, 0, 0));
    ROW_IS(&rep, sara, sn, "present", 0, 0, 480);
    assert_int_equal(row_of(&rep, sara, sn)->last_exit_ms, at(f, 2026, 3, 3, 6, 5, 0));
    ROW_IS(&rep, sara, am.id, "present", 0, 0, 471); /* 06:00-06:05, 06:14-14:00 */
    ROW_IS(&rep, tito, tn, "present", 0, 0, 480);
    ROW_IS(&rep, tito, tm.id, "present", 0, 0, 465); /* in at its start: 06:00-06:05 */
    att_report_free(&rep);
    /* The usual day is unchanged: Ann in at 07:58, out at 10:03. */
    r = see(f, f->ann, 0, at(f, 2026, 3, 2, 7, 58, 0), 0.9);
    assert_string_equal(r.event.kind, "entry");
    r = see(f, f->ann, 0, at(f, 2026, 3, 2, 10, 3, 0), 0.9);
    assert_string_equal(r.event.kind, "exit");
    assert_int_equal(r.event.schedule_id, f->sched_mon);
}

/* A forgotten exit: the last slot of a stay with no exit says "falta la
 * salida" once that slot ended more than slot_margin_min (60) ago, not
 * before; its hours count up to the slot's end; the next morning's entry
 * begins a new stay. Before, nothing said so. */
static void door_day_missing_exit(void **state)
{
    fx *f = *state;
    /* Ann: Monday 08:00-10:00 (7B) and, her own, Tuesday 08:00-10:00. */
    store_schedule tue = {
        .person_id = f->ann, .dow = 2, .start_min = 480, .end_min = 600, .grace_min = 5};
    snprintf(tue.label, sizeof tue.label, "Maths");
    OK(store_schedule_create(f->s, &tue, &e_));
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 2, 7, 55, 0), 0.9);
    see(f, f->ann, f->cam_in, at(f, 2026, 3, 3, 7, 58, 0), 0.9);
    see(f, f->ann, f->cam_out, at(f, 2026, 3, 3, 10, 5, 0), 0.9);
    att_report rep = report_at(f, "2026-03-02", "2026-03-02", at(f, 2026, 3, 2, 10, 59, 0));
    ROW_IS(&rep, f->ann, f->sched_mon, "present", 0, 0, 120);
    assert_int_equal(row_of(&rep, f->ann, f->sched_mon)->missing_exit, 0); /* may still come */
    assert_int_equal(summary_of(&rep, f->ann)->missing_exits, 0);
    att_report_free(&rep);
    rep = report_at(f, "2026-03-02", "2026-03-02", at(f, 2026, 3, 2, 11, 1, 0));
    ROW_IS(&rep, f->ann, f->sched_mon, "present", 0, 0, 120);
    assert_int_equal(row_of(&rep, f->ann, f->sched_mon)->missing_exit, 1);
    assert_int_equal(summary_of(&rep, f->ann)->missing_exits, 1);
    assert_int_equal(summary_of(&rep, f->ann)->on_site_ms, 125 * 60000LL); /* to the slot's end */
    att_report_free(&rep);
    rep = report_at(f, "2026-03-02", "2026-03-03", at(f, 2026, 3, 20, 0, 0, 0));
    assert_int_equal(row_of(&rep, f->ann, f->sched_mon)->missing_exit, 1);
    ROW_IS(&rep, f->ann, tue.id, "present", 0, 0, 120);
    assert_int_equal(row_of(&rep, f->ann, tue.id)->missing_exit, 0);
    assert_int_equal(row_of(&rep, f->ann, tue.id)->last_exit_ms, at(f, 2026, 3, 3, 10, 5, 0));
    assert_int_equal(summary_of(&rep, f->ann)->missing_exits, 1);
    assert_int_equal(summary_of(&rep, f->ann)->on_site_ms, (125 + 127) * 60000LL);
    att_report_free(&rep);
    /* A night shift with no exit: not missing at 06:59 on Tuesday, missing
     * at 07:01, on Monday's row. */
    int64_t pablo = person(f->s, "N1", "Pablo");
    int64_t pn = night_slot(f, pablo);
    see(f, pablo, f->cam_in, at(f, 2026, 3, 2, 21, 55, 0), 0.9);
    rep = report_at(f, "2026-03-02", "2026-03-03", at(f, 2026, 3, 3, 6, 59, 0));
    ROW_IS(&rep, pablo, pn, "present", 0, 0, 480);
    assert_int_equal(row_of(&rep, pablo, pn)->missing_exit, 0);
    att_report_free(&rep);
    rep = report_at(f, "2026-03-02", "2026-03-03", at(f, 2026, 3, 3, 7, 1, 0));
    ROW_IS(&rep, pablo, pn, "present", 0, 0, 480);
    assert_int_equal(row_of(&rep, pablo, pn)->missing_exit, 1);
    assert_int_equal(summary_of(&rep, pablo)->missing_exits, 1);
    assert_int_equal(rows_of(&rep, pablo), 1);
    att_report_free(&rep);
}

/* The summary's time on site is the rows' time in their slots plus their
 * time outside every slot (the break, before and after: overtime
 * candidates). Before, the summary counted the time in (08:25-14:35, 370
 * minutes) and the rows only their slots (330), with nothing to say why. */
static void door_day_time_outside_the_slots(void **state)
{
    fx *f = *state;
    door_day d;
    door_day_setup(f, &d);
    /* Rosa: Monday 06:00-14:00, in 05:50, out 16:00. */
    int64_t rosa = person(f->s, "W1", "Rosa");
    store_schedule sh = {
        .person_id = rosa, .dow = 1, .start_min = 6 * 60, .end_min = 14 * 60, .grace_min = 5};
    snprintf(sh.label, sizeof sh.label, "Mañana");
    OK(store_schedule_create(f->s, &sh, &e_));
    see(f, rosa, f->cam_in, at(f, 2026, 3, 2, 5, 50, 0), 0.9);
    see(f, rosa, f->cam_out, at(f, 2026, 3, 2, 16, 0, 0), 0.9);
    att_report rep;
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    ROW_IS(&rep, rosa, sh.id, "present", 0, 0, 480);
    assert_int_equal(row_of(&rep, rosa, sh.id)->outside_ms, 130 * 60000LL);
    assert_int_equal(summary_of(&rep, rosa)->on_site_ms, 610 * 60000LL);
    assert_int_equal(summary_of(&rep, rosa)->outside_ms, 130 * 60000LL);
    /* Dani, 08:25-14:35: 5 minutes before, the 30-minute break, 5 after. */
    assert_int_equal(row_of(&rep, d.p[0], d.maths)->outside_ms, 40 * 60000LL);
    assert_int_equal(summary_of(&rep, d.p[0])->outside_ms, 40 * 60000LL);
    /* Everyone: the rows' slot and outside time make the summary's. */
    int64_t who[5] = {d.p[0], d.p[1], d.p[2], d.p[3], rosa};
    for (int k = 0; k < 5; k++) {
        int64_t rows = 0;
        for (size_t i = 0; i < rep.nrows; i++)
            if (rep.rows[i].person_id == who[k])
                rows += rep.rows[i].on_site_ms + rep.rows[i].outside_ms;
        assert_int_equal(rows, summary_of(&rep, who[k])->on_site_ms);
    }
    /* Gema (out 10:00, in again 12:00, never out) and Fran (in 12:10 only)
     * have no exit: Lengua, the last slot, says so. */
    assert_int_equal(row_of(&rep, d.p[3], d.lengua)->missing_exit, 1);
    assert_int_equal(row_of(&rep, d.p[3], d.maths)->missing_exit, 0);
    assert_int_equal(row_of(&rep, d.p[2], d.lengua)->missing_exit, 1);
    assert_int_equal(row_of(&rep, d.p[0], d.lengua)->missing_exit, 0);
    att_report_free(&rep);
}

/* What payroll reads: minutes late from the slot's start (grace not
 * subtracted), minutes of early leave to its end, and overtime (on site
 * after the day's last slot, or before its first by more than the margin).
 * Monday 09:00-14:00, grace 10, margin 60: Lola in 09:17, out 14:45; Marta
 * in 09:08 (within grace), out 13:30; Nico in 07:30, out 14:00; Olga in
 * 08:20 (within the margin), out 14:00. Before, the rows said only late or
 * early leave (1) and the time outside the slots. */
static void payroll_minutes_late_early_leave_and_overtime(void **state)
{
    fx *f = *state;
    int64_t who[4] = {person(f->s, "P1", "Lola"), person(f->s, "P2", "Marta"),
                      person(f->s, "P3", "Nico"), person(f->s, "P4", "Olga")};
    int64_t sid[4];
    int in[4][2] = {{9, 17}, {9, 8}, {7, 30}, {8, 20}},
        out[4][2] = {{14, 45}, {13, 30}, {14, 0}, {14, 0}};
    for (int i = 0; i < 4; i++) {
        store_schedule sc = {
            .person_id = who[i], .dow = 1, .start_min = 540, .end_min = 840, .grace_min = 10};
        snprintf(sc.label, sizeof sc.label, "Jornada");
        OK(store_schedule_create(f->s, &sc, &e_));
        sid[i] = sc.id;
        see(f, who[i], f->cam_in, at(f, 2026, 3, 2, in[i][0], in[i][1], 0), 0.9);
        see(f, who[i], f->cam_out, at(f, 2026, 3, 2, out[i][0], out[i][1], 0), 0.9);
    }
    att_report rep;
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    int late[4] = {17, 0, 0, 0}, early[4] = {0, 30, 0, 0}, ot[4] = {45, 0, 90, 0};
    for (int i = 0; i < 4; i++) {
        const att_row *r = row_of(&rep, who[i], sid[i]);
        assert_non_null(r);
        assert_int_equal(r->minutes_late, late[i]);
        assert_int_equal(r->minutes_early_leave, early[i]);
        assert_int_equal(r->overtime_ms, ot[i] * 60000LL);
        const att_person_summary *p = summary_of(&rep, who[i]);
        assert_int_equal(p->minutes_late, late[i]);
        assert_int_equal(p->minutes_early_leave, early[i]);
        assert_int_equal(p->overtime_ms, ot[i] * 60000LL);
    }
    /* Olga's 40 minutes early are outside the slots, not overtime. */
    assert_int_equal(row_of(&rep, who[3], sid[3])->outside_ms, 40 * 60000LL);
    assert_int_equal(row_of(&rep, who[1], sid[1])->late, 0);
    att_report_free(&rep);
    /* Saturday: a day without slots is all overtime for someone with a
     * timetable; none for someone without one. */
    see(f, who[0], f->cam_in, at(f, 2026, 3, 7, 10, 0, 0), 0.9);
    see(f, who[0], f->cam_out, at(f, 2026, 3, 7, 12, 0, 0), 0.9);
    see(f, f->free_, f->cam_in, at(f, 2026, 3, 7, 10, 0, 0), 0.9);
    see(f, f->free_, f->cam_out, at(f, 2026, 3, 7, 12, 0, 0), 0.9);
    rep = report_at(f, "2026-03-02", "2026-03-07", at(f, 2026, 3, 20, 0, 0, 0));
    assert_int_equal(summary_of(&rep, who[0])->overtime_ms, (45 + 120) * 60000LL);
    assert_int_equal(summary_of(&rep, f->free_)->overtime_ms, 0);
    att_report_free(&rep);
    /* By slot: the same minutes late and of early leave (their events'). */
    presence_by_slot(f);
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(row_of(&rep, who[i], sid[i])->minutes_late, late[i]);
        assert_int_equal(row_of(&rep, who[i], sid[i])->minutes_early_leave, early[i]);
    }
    att_report_free(&rep);
}

static void door_day_by_slot_needs_an_entry_in_each(void **state)
{
    fx *f = *state;
    presence_by_slot(f);
    door_day d;
    door_day_setup(f, &d);
    att_report rep;
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    ROW_IS(&rep, d.p[0], d.maths, "present", 0, 0, 0);
    ROW_IS(&rep, d.p[0], d.lengua, "absent", 0, 0, 0);
    assert_int_equal(row_of(&rep, d.p[0], d.lengua)->last_exit_ms, at(f, 2026, 3, 2, 14, 35, 0));
    assert_int_equal(summary_of(&rep, d.p[0])->on_site_ms, 0);
    ROW_IS(&rep, d.p[1], d.maths, "present", 0, 0, 0);
    ROW_IS(&rep, d.p[1], d.lengua, "absent", 0, 0, 0);
    ROW_IS(&rep, d.p[2], d.maths, "absent", 0, 0, 0);
    ROW_IS(&rep, d.p[2], d.lengua, "late", 1, 0, 0);
    ROW_IS(&rep, d.p[3], d.maths, "present", 0, 1, 95);
    ROW_IS(&rep, d.p[3], d.lengua, "late", 1, 0, 0);
    att_report_free(&rep);
    /* The setting is named when it is wrong; "day" brings the time in back. */
    rc_error err;
    OK(store_setting_set(f->s, "presence_mode", "door", &e_));
    assert_int_equal(att_reload(f->a, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "presence_mode"));
    att_config c;
    att_get_config(f->a, &c);
    assert_int_equal(c.presence, ATT_PRESENCE_SLOT);
    c.presence = ATT_PRESENCE_DAY;
    OK(att_config_save(f->s, &c, &e_));
    OK(att_reload(f->a, &e_));
    door_report(f, at(f, 2026, 3, 20, 0, 0, 0), &rep);
    ROW_IS(&rep, d.p[0], d.lengua, "present", 0, 0, 165);
    att_report_free(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zone_matches_the_c_library_over_decades),
        cmocka_unit_test(dst_gaps_overlaps_and_far_future),
        cmocka_unit_test(bad_zones_are_refused),
        cmocka_unit_test_setup_teardown(entry_then_exit_by_order_last_exit_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(late_and_early_leave_respect_grace_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(camera_direction_decides, setup, teardown),
        cmocka_unit_test_setup_teardown(dedup_window_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(skipped_liveness_only_merges, setup, teardown),
        cmocka_unit_test_setup_teardown(midnight_and_overnight_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(dst_day_judged_in_local_time, setup, teardown),
        cmocka_unit_test_setup_teardown(holidays_have_no_slots_and_no_absences, setup, teardown),
        cmocka_unit_test_setup_teardown(leave_days_are_not_absences, setup, teardown),
        cmocka_unit_test_setup_teardown(part_day_leave_by_day, setup, teardown),
        cmocka_unit_test_setup_teardown(part_day_leave_by_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(absent_from_start_plus_grace_during_the_day, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_absence_before_counting_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(report_per_subject, setup, teardown),
        cmocka_unit_test_setup_teardown(events_keep_the_best_face, setup, teardown),
        cmocka_unit_test_setup_teardown(kept_faces_expire_after_the_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(unrecognized_and_spoofed_sightings_make_no_events, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(manual_events_and_corrections_keep_the_original, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(simultaneous_nodes_make_one_event, setup, teardown),
        cmocka_unit_test_setup_teardown(threads_marking_one_person_make_one_event, setup, teardown),
        cmocka_unit_test_setup_teardown(sightings_during_a_commit_share_the_next, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_settings_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_count_and_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(csv_export_reads_back, setup, teardown),
        cmocka_unit_test_setup_teardown(xlsx_export_unzips_to_expected_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(zone_outlives_a_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(default_start_is_the_first_use, setup, teardown),
        cmocka_unit_test_setup_teardown(join_and_archive_dates_bound_absences, setup, teardown),
        cmocka_unit_test_setup_teardown(each_group_counts_its_own_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(a_changed_timetable_leaves_past_days_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_moved_pupil_keeps_past_days_under_the_old_group, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(door_day_counts_the_time_in, setup, teardown),
        cmocka_unit_test_setup_teardown(door_day_by_slot_needs_an_entry_in_each, setup, teardown),
        cmocka_unit_test_setup_teardown(a_door_camera_for_both_ways_goes_by_the_day, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(door_day_early_late_and_lingering, setup, teardown),
        cmocka_unit_test_setup_teardown(door_day_night_shift_left_late, setup, teardown),
        cmocka_unit_test_setup_teardown(door_day_night_shift_handed_over_to_the_morning, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(door_day_night_shift_across_midnight, setup, teardown),
        cmocka_unit_test_setup_teardown(door_day_missing_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(door_day_time_outside_the_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(payroll_minutes_late_early_leave_and_overtime, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name(
        testdb_is_pg() ? "attendance (postgres)" : "attendance (sqlite)", tests, NULL, NULL);
}

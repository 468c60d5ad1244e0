/*
 * att.c — the rules engine: configuration from settings, slot matching
 * against schedules in the institution's time zone, and the decision that
 * turns one recognition into a new, merged or moved entry/exit event (the
 * rules are listed in att.h). Manual events and corrections go through the
 * same slot and status judgement and leave an audit trail in the store.
 *
 * A person's decision (reading their events in the slot, writing the
 * result) runs in one store transaction that never interleaves with another
 * decision about the same person: on SQLite the transaction holds the
 * database's write lock, on PostgreSQL a per-person advisory lock. The
 * engine's mutex guards only the configuration and the commit queue, never
 * a transaction: on SQLite, sightings that arrive while a transaction is
 * committing wait in a queue and the next commit takes them all, one after
 * the other in one transaction with one fsync (group commit); on
 * PostgreSQL each sighting is its own transaction, concurrent with other
 * people's (the server groups concurrent commits' WAL flushes itself).
 * att_record returns only once its transaction is committed.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../face/face.h"
#include "../gallery/gallery.h"
#include "att.h"
#include "att_private.h"

/* The gallery's calibrated default, as the double nearest its decimal value
 * (0.37, not the float's 0.37000000476...), so settings show it as written. */
#define ATT_DEFAULT_RECOGNITION (round((double)GALLERY_DEFAULT_THRESHOLD * 1e6) / 1e6)

/* Advisory lock keys for one person's decisions: clear of the store's own. */
#define ATT_LOCK_BASE ((int64_t)1 << 40)

/* The sightings att_live_recently may answer from: at most this many
 * person and camera pairs, each with its newest sighting measured live
 * (pairs whose window has ended are dropped as new ones come; past the
 * limit the oldest goes, and its person is measured again). */
#define ATT_LIVE_MAX 4096

typedef struct {
    int64_t person, camera, ts_ms;
    char kind[8]; /* the event's */
} att_live;

/* One att_record call waiting in the commit queue (SQLite). */
typedef struct pending {
    const att_sighting *sg;
    const void *jpeg;
    size_t len;
    att_result *out;
    rc_error *err;
    rc_status st;
    bool done;
    struct pending *next;
} pending;

struct att {
    store *s;
    pthread_mutex_t mu; /* cfg, tz, retired, the queue and the counters */
    pthread_cond_t committed;
    pending *queue, **queue_end; /* waiting for the next commit */
    bool committing;             /* a thread is running a batch */
    size_t waiting;              /* calls in the queue */
    uint64_t records, commits;
    att_config cfg;
    att_tz *tz;
    /* Zones replaced by a reload. att_zone hands out a pointer that callers
     * use without the lock, so a replaced zone lives as long as the engine
     * (one per change of the timezone setting). */
    att_tz **retired;
    size_t nretired;
    /* Sightings measured live that made or merged into an event, the newest
     * per person and camera (att_live_recently). */
    att_live *live;
    size_t nlive;
};

/* ---- configuration -------------------------------------------------------- */

rc_status att_start_day(att *a, const att_tz *tz, int64_t *days, rc_error *err)
{
    att_config cfg;
    att_get_config(a, &cfg);
    if (cfg.start_day[0] && !att_parse_day(cfg.start_day, days)) return RC_OK;
    int64_t ms = 0;
    rc_status st = store_started_ms(a->s, &ms, err);
    if (st != RC_OK) return st;
    att_local l = {.days = INT64_MIN};
    if (ms > 0) att_tz_local(tz, ms, &l);
    *days = l.days;
    return RC_OK;
}

/* Read setting `key` into buf; *found is 0 (and RC_OK) when it is unset. */
static rc_status get_raw(store *s, const char *key, char *buf, size_t cap, int *found,
                         rc_error *err)
{
    rc_error e2;
    rc_status st = store_setting_get(s, key, buf, cap, &e2);
    *found = st == RC_OK;
    if (st == RC_ERR_NOT_FOUND) return RC_OK;
    return st == RC_OK ? RC_OK : rc_fail(err, st, "%s", e2.msg);
}

static rc_status get_int(store *s, const char *key, int def, int lo, int hi, int *out,
                         rc_error *err)
{
    char buf[64];
    int found;
    rc_status st = get_raw(s, key, buf, sizeof buf, &found, err);
    if (st != RC_OK || !found) {
        *out = def;
        return st;
    }
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || end == buf || *end || v < lo || v > hi)
        return rc_fail(err, RC_ERR_INVALID, "setting %s = '%s' is not a whole number in %d..%d",
                       key, buf, lo, hi);
    *out = (int)v;
    return RC_OK;
}

static rc_status get_real(store *s, const char *key, double def, double *out, rc_error *err)
{
    char buf[64];
    int found;
    rc_status st = get_raw(s, key, buf, sizeof buf, &found, err);
    if (st != RC_OK || !found) {
        *out = def;
        return st;
    }
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || *end || !(v >= 0 && v <= 1))
        return rc_fail(err, RC_ERR_INVALID, "setting %s = '%s' is not a number in 0..1", key, buf);
    *out = v;
    return RC_OK;
}

const char *att_presence_name(att_presence p)
{
    return p == ATT_PRESENCE_SLOT ? "slot" : "day";
}

int att_presence_parse(const char *s, att_presence *out)
{
    if (!s) return -1;
    if (!strcmp(s, "day"))
        *out = ATT_PRESENCE_DAY;
    else if (!strcmp(s, "slot"))
        *out = ATT_PRESENCE_SLOT;
    else
        return -1;
    return 0;
}

rc_status att_config_load(store *s, att_config *c, rc_error *err)
{
    memset(c, 0, sizeof *c);
    int found;
    rc_status st = get_raw(s, "timezone", c->timezone, sizeof c->timezone, &found, err);
    if (st != RC_OK) return st;
    if (!found) c->timezone[0] = 0;
    if ((st = get_int(s, "dedup_window_s", 300, 0, 86400, &c->dedup_window_s, err)) != RC_OK ||
        (st = get_int(s, "min_stay_s", 600, 0, 86400, &c->min_stay_s, err)) != RC_OK ||
        (st = get_int(s, "slot_margin_min", 60, 0, 720, &c->slot_margin_min, err)) != RC_OK ||
        (st = get_int(s, "keep_unrecognized", 0, 0, 1, &c->keep_unrecognized, err)) != RC_OK ||
        (st = get_int(s, "unrecognized_retention_days", 30, 0, 3650,
                      &c->unrecognized_retention_days, err)) != RC_OK ||
        (st = get_real(s, "recognition_threshold", ATT_DEFAULT_RECOGNITION,
                       &c->recognition_threshold, err)) != RC_OK ||
        (st = get_real(s, "liveness_threshold", FACE_DEFAULT_LIVENESS_THRESHOLD,
                       &c->liveness_threshold, err)) != RC_OK)
        return st;
    st = get_raw(s, "attendance_start_day", c->start_day, sizeof c->start_day, &found, err);
    if (st != RC_OK) return st;
    int64_t days;
    if (!found)
        c->start_day[0] = 0;
    else if (c->start_day[0] && att_parse_day(c->start_day, &days))
        return rc_fail(err, RC_ERR_INVALID,
                       "setting attendance_start_day = '%s' is not a date YYYY-MM-DD",
                       c->start_day);
    char mode[16];
    st = get_raw(s, "presence_mode", mode, sizeof mode, &found, err);
    if (st != RC_OK) return st;
    c->presence = ATT_PRESENCE_DAY;
    if (found && att_presence_parse(mode, &c->presence))
        return rc_fail(err, RC_ERR_INVALID, "setting presence_mode = '%s' is not day or slot",
                       mode);
    return RC_OK;
}

rc_status att_config_save(store *s, const att_config *c, rc_error *err)
{
    char v[64];
    rc_status st;
    att_tz *tz = NULL;
    if ((st = att_tz_load(c->timezone, &tz, err)) != RC_OK) return st;
    att_tz_free(tz);
#define PUT(key, fmt, val)                                                                         \
    do {                                                                                           \
        snprintf(v, sizeof v, fmt, val);                                                           \
        if ((st = store_setting_set(s, key, v, err)) != RC_OK) return st;                          \
    } while (0)
    PUT("timezone", "%s", c->timezone);
    PUT("dedup_window_s", "%d", c->dedup_window_s);
    PUT("min_stay_s", "%d", c->min_stay_s);
    PUT("slot_margin_min", "%d", c->slot_margin_min);
    PUT("keep_unrecognized", "%d", c->keep_unrecognized ? 1 : 0);
    PUT("unrecognized_retention_days", "%d", c->unrecognized_retention_days);
    PUT("recognition_threshold", "%.6g", c->recognition_threshold);
    PUT("liveness_threshold", "%.6g", c->liveness_threshold);
    PUT("attendance_start_day", "%s", c->start_day);
    PUT("presence_mode", "%s", att_presence_name(c->presence));
#undef PUT
    att_config check;
    return att_config_load(s, &check, err);
}

/* ---- engine --------------------------------------------------------------- */

rc_status att_reload(att *a, rc_error *err)
{
    att_config c;
    att_tz *tz = NULL;
    rc_status st = att_config_load(a->s, &c, err);
    if (st == RC_OK) st = att_tz_load(c.timezone, &tz, err);
    if (st != RC_OK) return st;
    pthread_mutex_lock(&a->mu);
    if (a->tz && strcmp(att_tz_name(a->tz), att_tz_name(tz)) == 0) {
        att_tz_free(tz); /* same zone: keep the one in use */
    } else if (a->tz) {
        att_tz **r = realloc(a->retired, (a->nretired + 1) * sizeof *r);
        if (!r) {
            pthread_mutex_unlock(&a->mu);
            att_tz_free(tz);
            return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        }
        a->retired = r;
        a->retired[a->nretired++] = a->tz;
        a->tz = tz;
    } else {
        a->tz = tz;
    }
    /* A face measured live under another threshold may not pass this one. */
    if (a->cfg.liveness_threshold != c.liveness_threshold) a->nlive = 0;
    a->cfg = c;
    pthread_mutex_unlock(&a->mu);
    return RC_OK;
}

rc_status att_create(store *s, att **out, rc_error *err)
{
    att *a = calloc(1, sizeof *a);
    if (!a) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    a->s = s;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->committed, NULL);
    a->queue_end = &a->queue;
    rc_status st = att_reload(a, err);
    if (st != RC_OK) {
        att_destroy(a);
        return st;
    }
    *out = a;
    return RC_OK;
}

void att_destroy(att *a)
{
    if (!a) return;
    att_tz_free(a->tz);
    for (size_t i = 0; i < a->nretired; i++) att_tz_free(a->retired[i]);
    free(a->retired);
    free(a->live);
    pthread_cond_destroy(&a->committed);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void att_get_config(att *a, att_config *out)
{
    pthread_mutex_lock(&a->mu);
    *out = a->cfg;
    pthread_mutex_unlock(&a->mu);
}

const att_tz *att_zone(att *a)
{
    pthread_mutex_lock(&a->mu);
    const att_tz *tz = a->tz;
    pthread_mutex_unlock(&a->mu);
    return tz;
}

void att_get_stats(att *a, att_stats *out)
{
    pthread_mutex_lock(&a->mu);
    *out = (att_stats){.records = a->records,
                       .commits = a->commits,
                       .waiting = a->waiting,
                       .committing = a->committing};
    pthread_mutex_unlock(&a->mu);
}

int att_minutes_late(att *a, const store_event *e)
{
    if (strcmp(e->status, "late") != 0 || !e->schedule_id) return 0;
    store_schedule sc;
    int64_t days;
    if (store_schedule_get(a->s, e->schedule_id, &sc, NULL) != RC_OK ||
        att_parse_day(e->slot_day, &days) != 0)
        return 0;
    int64_t m = (e->ts_ms - att_tz_utc(att_zone(a), days, sc.start_min)) / 60000;
    return m > 0 ? (int)m : 0;
}

rc_status att_expire_unrecognized(att *a, int64_t now_ms, int64_t *removed, rc_error *err)
{
    att_config c;
    att_get_config(a, &c);
    if (removed) *removed = 0;
    if (c.unrecognized_retention_days <= 0) return RC_OK;
    return store_sighting_purge(a->s, now_ms - (int64_t)c.unrecognized_retention_days * 86400000,
                                removed, err);
}

/* Store handle for the report and export code in this module. */
store *att_store_of(att *a)
{
    return a->s;
}

const char *att_outcome_name(att_outcome o)
{
    switch (o) {
    case ATT_IGNORED:
        return "ignored";
    case ATT_UNRECOGNIZED:
        return "unrecognized";
    case ATT_NEW:
        return "new";
    case ATT_MERGED:
        return "merged";
    case ATT_MOVED:
        return "moved";
    case ATT_NEEDS_LIVENESS:
        return "needs_liveness";
    }
    return "unknown";
}

/* ---- slots ---------------------------------------------------------------- */

/* The configuration and zone one decision uses, copied under the mutex so
 * that the decision itself (store queries, the commit) runs without it. A
 * zone replaced by a reload stays alive (a->retired). */
typedef struct {
    att_config cfg;
    const att_tz *tz;
} rules;

static rules rules_now(att *a)
{
    pthread_mutex_lock(&a->mu);
    rules r = {a->cfg, a->tz};
    pthread_mutex_unlock(&a->mu);
    return r;
}

typedef struct {
    int64_t schedule_id; /* 0: outside */
    char day[11];
    int64_t start_ms, end_ms;
    int grace_min;
} slot;

rc_status att_is_holiday(store *s, const char *day, int *yes, rc_error *err)
{
    store_holiday *h = NULL;
    size_t n = 0;
    rc_status st = store_holiday_list(s, day, day, &h, &n, err);
    free(h);
    *yes = n > 0;
    return st;
}

/* The slot of `person` whose [start - margin_min, end + margin_min] holds
 * time `ts`, nearest first, judged in zone tz. */
static rc_status find_slot_in(att *a, const att_tz *tz, int64_t person, int64_t ts, int margin_min,
                              slot *out, rc_error *err)
{
    store_schedule *sc = NULL;
    size_t n = 0;
    rc_status st = store_schedules_for_person(a->s, person, &sc, &n, err);
    if (st != RC_OK) return st;
    att_local L;
    att_tz_local(tz, ts, &L);
    memset(out, 0, sizeof *out);
    att_day_string(L.days, out->day);
    int64_t margin = (int64_t)margin_min * 60000, best = -1;
    /* A slot may start the day before (overnight shift) or the day after
     * (early start within the margin) the local day of ts. */
    for (int dd = -1; dd <= 1 && st == RC_OK; dd++) {
        int64_t day = L.days + dd;
        int wd = att_weekday(day), holiday = -1;
        char ds[11];
        att_day_string(day, ds);
        for (size_t i = 0; i < n; i++) {
            if (sc[i].dow != wd || !store_schedule_valid_on(&sc[i], ds)) continue;
            int64_t start = att_tz_utc(tz, day, sc[i].start_min);
            int64_t end = sc[i].end_min > sc[i].start_min ? att_tz_utc(tz, day, sc[i].end_min)
                                                          : att_tz_utc(tz, day + 1, sc[i].end_min);
            if (ts < start - margin || ts > end + margin) continue;
            if (holiday < 0 && (st = att_is_holiday(a->s, ds, &holiday, err)) != RC_OK) break;
            if (holiday) continue;
            int64_t dist = ts < start ? start - ts : ts > end ? ts - end : 0;
            if (best < 0 || dist < best || (dist == best && start < out->start_ms)) {
                best = dist;
                out->schedule_id = sc[i].id;
                memcpy(out->day, ds, sizeof ds);
                out->start_ms = start;
                out->end_ms = end;
                out->grace_min = sc[i].grace_min;
            }
        }
    }
    free(sc);
    return st;
}

static rc_status find_slot(att *a, const rules *r, int64_t person, int64_t ts, slot *out,
                           rc_error *err)
{
    return find_slot_in(a, r->tz, person, ts, r->cfg.slot_margin_min, out, err);
}

rc_status att_slot_at(att *a, int64_t person_id, int64_t ts_ms, int margin_min, att_slot *out,
                      rc_error *err)
{
    memset(out, 0, sizeof *out);
    if (margin_min < 0 || margin_min > 720)
        return rc_fail(err, RC_ERR_INVALID, "margin %d is not 0..720 minutes", margin_min);
    slot sl;
    rules r = rules_now(a);
    rc_status st = find_slot_in(a, r.tz, person_id, ts_ms, margin_min, &sl, err);
    if (st != RC_OK) return st;
    out->schedule_id = sl.schedule_id;
    memcpy(out->day, sl.day, sizeof out->day);
    out->start_ms = sl.start_ms;
    out->end_ms = sl.end_ms;
    return RC_OK;
}

/* By day, the slot an event of `kind` at ts is made for: the slot under way
 * (the latest started, if slots overlap), else for an entry the next slot
 * to start that local day and for an exit the last to have ended that day
 * (a night slot begun the day before included); none: outside. A person is
 * in from an entry to their next exit, so an entry at 07:15 is on time for
 * the 08:30 class and one back from the break at 11:20 for the 11:45 one,
 * and an exit at 14:35 ends the 14:30 class; before, the nearest slot
 * within slot_margin_min decided, so 07:15 was "outside the timetable",
 * 11:20 "late" to the class that had ended at 11:15, and an entry 50
 * minutes after the last class "late" to it. Holidays have no slots. */
static rc_status day_slot(att *a, const rules *r, int64_t person, int64_t ts, const char *kind,
                          slot *out, rc_error *err)
{
    store_schedule *sc = NULL;
    size_t n = 0;
    rc_status st = store_schedules_for_person(a->s, person, &sc, &n, err);
    att_local L;
    att_tz_local(r->tz, ts, &L);
    memset(out, 0, sizeof *out);
    att_day_string(L.days, out->day);
    bool entry = !strcmp(kind, "entry");
    int64_t midnight = att_tz_utc(r->tz, L.days, 0),
            next_midnight = att_tz_utc(r->tz, L.days + 1, 0);
    slot now = {0}, near = {0};
    int holiday[2] = {-1, -1}; /* the day before, the day of ts */
    for (int dd = -1; dd <= 0 && st == RC_OK; dd++) {
        int64_t day = L.days + dd;
        int wd = att_weekday(day);
        char dday[11];
        att_day_string(day, dday);
        for (size_t i = 0; i < n && st == RC_OK; i++) {
            if (sc[i].dow != wd || !store_schedule_valid_on(&sc[i], dday)) continue;
            int64_t start = att_tz_utc(r->tz, day, sc[i].start_min);
            int64_t end = sc[i].end_min > sc[i].start_min
                              ? att_tz_utc(r->tz, day, sc[i].end_min)
                              : att_tz_utc(r->tz, day + 1, sc[i].end_min);
            bool under_way = start <= ts && ts <= end;
            bool next = entry && dd == 0 && start > ts && start < next_midnight;
            bool last = !entry && end < ts && end >= midnight;
            if (!under_way && !next && !last) continue;
            slot *to = under_way ? &now : &near;
            if (to->schedule_id && (under_way ? start <= to->start_ms
                                    : next    ? start >= to->start_ms
                                              : end <= to->end_ms))
                continue;
            char ds[11];
            att_day_string(day, ds);
            int *h = &holiday[dd + 1];
            if (*h < 0 && (st = att_is_holiday(a->s, ds, h, err)) != RC_OK) break;
            if (*h) continue;
            *to = (slot){.schedule_id = sc[i].id,
                         .start_ms = start,
                         .end_ms = end,
                         .grace_min = sc[i].grace_min};
            memcpy(to->day, ds, sizeof ds);
        }
    }
    free(sc);
    if (st == RC_OK && (now.schedule_id || near.schedule_id)) *out = now.schedule_id ? now : near;
    return st;
}

/* The slot an event of `kind` at ts is made for: by slot the nearest within
 * slot_margin_min (find_slot), by day the one it belongs to (day_slot). */
static rc_status slot_for(att *a, const rules *r, int64_t person, int64_t ts, const char *kind,
                          slot *out, rc_error *err)
{
    if (r->cfg.presence == ATT_PRESENCE_DAY) return day_slot(a, r, person, ts, kind, out, err);
    return find_slot(a, r, person, ts, out, err);
}

/* The slot event e was made for, laid out on its slot day; schedule_id 0
 * when none (outside, or the schedule was deleted since). */
static rc_status event_slot(att *a, const rules *r, const store_event *e, slot *out, rc_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t day;
    if (!e->schedule_id || att_parse_day(e->slot_day, &day)) return RC_OK;
    store_schedule sc;
    rc_status st = store_schedule_get(a->s, e->schedule_id, &sc, err);
    if (st == RC_ERR_NOT_FOUND) return RC_OK;
    if (st != RC_OK) return st;
    out->schedule_id = sc.id;
    memcpy(out->day, e->slot_day, sizeof out->day);
    out->start_ms = att_tz_utc(r->tz, day, sc.start_min);
    out->end_ms = sc.end_min > sc.start_min ? att_tz_utc(r->tz, day, sc.end_min)
                                            : att_tz_utc(r->tz, day + 1, sc.end_min);
    out->grace_min = sc.grace_min;
    return RC_OK;
}

/* By day, whether a departure at ts leaves slot `from` rather than slot
 * `to` under way: `from` ended at most slot_margin_min before ts and `to`
 * had begun by then (a night shift handed over to the morning one, back
 * to back or overlapping). The exit is the shift's being left; day_slot
 * alone would give it to the slot under way, an "early leave" from it. */
static bool handed_over(const rules *r, const slot *from, const slot *to, int64_t ts)
{
    return from->schedule_id && to->schedule_id &&
           (from->schedule_id != to->schedule_id || strcmp(from->day, to->day)) &&
           from->end_ms <= ts && ts <= from->end_ms + (int64_t)r->cfg.slot_margin_min * 60000 &&
           to->start_ms <= from->end_ms;
}

static void judge(const slot *sl, const char *kind, int64_t ts, char status[16])
{
    int64_t grace = (int64_t)sl->grace_min * 60000;
    if (!sl->schedule_id)
        snprintf(status, 16, "outside");
    else if (strcmp(kind, "entry") == 0)
        snprintf(status, 16, ts > sl->start_ms + grace ? "late" : "on_time");
    else
        snprintf(status, 16, ts < sl->end_ms - grace ? "early_leave" : "on_time");
}

/* Merge a sighting into e; true when it is the best so far (its face and
 * probe stand for the event now). A sighting whose liveness was skipped
 * (merge_only) is never the best: what stands for the event was measured. */
static bool take_best(store_event *e, const att_sighting *sg)
{
    e->sightings++;
    if (sg->ts_ms > e->last_seen_ms) e->last_seen_ms = sg->ts_ms;
    if (sg->merge_only || sg->confidence <= e->confidence) return false;
    e->confidence = sg->confidence;
    memcpy(e->box, sg->box, sizeof e->box);
    e->liveness = sg->liveness < 0 ? 0 : sg->liveness;
    e->camera_id = sg->camera_id;
    e->face_id = sg->face_id;
    return true;
}

static rc_status unrecognized(att *a, const rules *r, const att_sighting *sg, const char *reason,
                              const void *jpeg, size_t len, att_result *out, rc_error *err)
{
    if (sg->merge_only) { /* no sighting is kept without its liveness */
        out->outcome = ATT_NEEDS_LIVENESS;
        return RC_OK;
    }
    if (!r->cfg.keep_unrecognized) {
        out->outcome = ATT_IGNORED;
        return RC_OK;
    }
    store_sighting g = {.ts_ms = sg->ts_ms,
                        .camera_id = sg->camera_id,
                        .candidate_person_id = sg->person_id,
                        .confidence = sg->confidence,
                        .liveness = sg->liveness};
    snprintf(g.reason, sizeof g.reason, "%s", reason);
    rc_status st = store_sighting_add(a->s, &g, jpeg, len, err);
    if (st != RC_OK) return st;
    out->outcome = ATT_UNRECOGNIZED;
    out->sighting_id = g.id;
    return RC_OK;
}

/* One sighting's decision and write, inside the caller's transaction. */
static rc_status decide(att *a, const rules *r, const att_sighting *sg, const void *jpeg,
                        size_t len, att_result *out, rc_error *err)
{
    const att_config *c = &r->cfg;
    memset(out, 0, sizeof *out);
    if (!sg->person_id) return unrecognized(a, r, sg, "unknown", jpeg, len, out, err);
    if (sg->confidence < c->recognition_threshold)
        return unrecognized(a, r, sg, "below_threshold", jpeg, len, out, err);
    if (sg->liveness >= 0 && sg->liveness < c->liveness_threshold)
        return unrecognized(a, r, sg, "liveness", jpeg, len, out, err);

    char direction[8] = "both";
    if (sg->kind && strcmp(sg->kind, "entry") && strcmp(sg->kind, "exit"))
        return rc_fail(err, RC_ERR_INVALID, "kind '%s' is not entry or exit", sg->kind);
    if (sg->kind) {
        snprintf(direction, sizeof direction, "%s", sg->kind);
    } else if (sg->camera_id) {
        store_camera cam;
        rc_status st = store_camera_get(a->s, sg->camera_id, &cam, err);
        if (st != RC_OK) return st;
        memcpy(direction, cam.direction, sizeof direction);
    }
    slot sl;
    rc_status st = find_slot(a, r, sg->person_id, sg->ts_ms, &sl, err);
    if (st != RC_OK) return st;

    /* The person's events in this slot (by day, of the day before too: a
     * night shift's entry is yesterday's). */
    bool by_day = c->presence == ATT_PRESENCE_DAY;
    int64_t days = 0;
    char before[11];
    att_parse_day(sl.day, &days);
    att_day_string(days - 1, before);
    store_event_filter f = {
        .person_id = sg->person_id, .from_day = by_day ? before : sl.day, .to_day = sl.day};
    store_event *ev = NULL;
    size_t n = 0;
    st = store_event_list(a->s, &f, (store_page){.limit = 10000}, &ev, &n, NULL, err);
    if (st != RC_OK) return st;
    store_event *latest = NULL, *first_entry = NULL, *last_exit = NULL, *day_last = NULL,
                *night = NULL;
    for (size_t i = 0; i < n; i++) {
        store_event *e = &ev[i];
        if (strcmp(e->slot_day, sl.day) != 0) {
            if (!night || e->ts_ms > night->ts_ms) night = e;
            continue;
        }
        /* By day, the day's last event says whether the person is in. */
        if (!day_last || e->ts_ms > day_last->ts_ms) day_last = e;
        if (e->schedule_id != sl.schedule_id) continue;
        if (!latest || e->last_seen_ms > latest->last_seen_ms) latest = e;
        if (!strcmp(e->kind, "entry") && (!first_entry || e->ts_ms < first_entry->ts_ms))
            first_entry = e;
        if (!strcmp(e->kind, "exit") && (!last_exit || e->ts_ms >= last_exit->ts_ms)) last_exit = e;
    }

    /* With nothing yet today, yesterday's last event goes on: an exit (a
     * night shift's, moved by someone lingering after it), or an entry to a
     * slot that runs past midnight (a night shift left at 07:10, after its
     * end and its margin, is an exit; before, it was a new entry). The
     * forgotten exit of a day slot does not make the next morning's
     * arrival a departure. */
    if (by_day && !day_last && night && !strcmp(night->kind, "exit")) day_last = night;
    if (by_day && !day_last && night && night->schedule_id) {
        store_schedule ns;
        st = store_schedule_get(a->s, night->schedule_id, &ns, err);
        if (st == RC_ERR_NOT_FOUND)
            st = RC_OK; /* deleted since: no night slot */
        else if (st == RC_OK && ns.end_min <= ns.start_min)
            day_last = night;
        if (st != RC_OK) {
            free(ev);
            return st;
        }
    }
    /* By day, with no event made for this slot, the person's last event is
     * the one a repeat merges into (rule 3): the next frames of an exit
     * from a night shift made at 06:05, when the morning slot is the
     * nearest, are that exit again, at a door camera too (before, each
     * was a new exit). */
    if (by_day && !latest) latest = day_last;
    int64_t window = (int64_t)c->dedup_window_s * 1000;
    store_event *target = NULL;
    const char *kind = NULL;
    att_outcome outcome = ATT_NEW;
    int64_t gap = latest ? sg->ts_ms - latest->last_seen_ms : 0;
    if (latest && gap < window && gap > -window && (!sg->kind || !strcmp(sg->kind, latest->kind))) {
        target = latest; /* 3: a repeat within the de-duplication window */
        outcome = ATT_MERGED;
    } else if (sg->merge_only) {
        free(ev); /* rule 3 no longer holds: the caller measures liveness */
        out->outcome = ATT_NEEDS_LIVENESS;
        return RC_OK;
    } else if (!strcmp(direction, "entry") || !strcmp(direction, "exit")) {
        kind = direction; /* 4: the camera decides */
    } else if (c->presence == ATT_PRESENCE_DAY) {
        /* 4, by day (a camera at the door sees people come and go, not each
         * class): out, the sighting is an entry; in since at least
         * min_stay_s, an exit. Within min_stay_s of the day's last event it
         * is that event again: an entry merges, an exit moves (the last
         * one wins). Before, a student leaving after the last class was an
         * "entry, late" to it, and their day never ended. */
        bool in = day_last && !strcmp(day_last->kind, "entry");
        /* Measured from its last sighting: someone who lingered at the door
         * and comes back into view is not leaving (or entering) again. */
        int64_t last = day_last ? day_last->ts_ms : 0;
        if (day_last && day_last->last_seen_ms > last) last = day_last->last_seen_ms;
        bool handover = false;
        if (day_last && !in && sg->ts_ms - last < (int64_t)c->min_stay_s * 1000) {
            /* Out by an exit handed over from a night shift to the slot
             * under way since: past the window, this is that slot's entry,
             * not the exit moving (someone lingering after a shift). */
            slot from, now;
            st = event_slot(a, r, day_last, &from, err);
            if (st == RC_OK) st = day_slot(a, r, sg->person_id, sg->ts_ms, "entry", &now, err);
            if (st != RC_OK) {
                free(ev);
                return st;
            }
            handover = now.start_ms <= sg->ts_ms && handed_over(r, &from, &now, day_last->ts_ms);
        }
        if (day_last && !handover && sg->ts_ms - last < (int64_t)c->min_stay_s * 1000) {
            target = day_last;
            outcome = !in && sg->ts_ms > day_last->ts_ms ? ATT_MOVED : ATT_MERGED;
        } else {
            kind = in ? "exit" : "entry";
        }
    } else if (!first_entry) {
        kind = "entry";
    } else if (sg->ts_ms - first_entry->ts_ms >= (int64_t)c->min_stay_s * 1000) {
        if (last_exit && sg->ts_ms > last_exit->ts_ms) {
            target = last_exit;
            outcome = ATT_MOVED;
        } else if (last_exit) {
            target = last_exit; /* an older sighting arriving late */
            outcome = ATT_MERGED;
        } else {
            kind = "exit";
        }
    } else {
        target = first_entry; /* too soon to be an exit */
        outcome = ATT_MERGED;
    }

    if (c->presence == ATT_PRESENCE_DAY && (kind || outcome == ATT_MOVED)) {
        st = day_slot(a, r, sg->person_id, sg->ts_ms, kind ? kind : target->kind, &sl, err);
        /* An exit from a shift that has just ended is that shift's, not
         * the slot under way's: the stay's entry (new) or the exit itself
         * (moved) says which shift. */
        const store_event *of =
            kind ? (day_last && !strcmp(day_last->kind, "entry") ? day_last : NULL) : target;
        slot from;
        if (st == RC_OK && of && !strcmp(kind ? kind : target->kind, "exit") &&
            (st = event_slot(a, r, of, &from, err)) == RC_OK && sl.start_ms <= sg->ts_ms &&
            handed_over(r, &from, &sl, sg->ts_ms))
            sl = from;
        if (st != RC_OK) {
            free(ev);
            return st;
        }
    }
    if (target) {
        store_event e = *target;
        bool best = take_best(&e, sg);
        if (outcome == ATT_MOVED) {
            /* Judged against the slot it now falls in (by day an exit may
             * move into the next one). */
            e.ts_ms = e.last_seen_ms = sg->ts_ms;
            e.schedule_id = sl.schedule_id;
            memcpy(e.slot_day, sl.day, sizeof e.slot_day);
            judge(&sl, e.kind, e.ts_ms, e.status);
        }
        st = store_event_update(a->s, &e, err);
        if (st == RC_OK) {
            out->event = e;
            out->best = best;
        }
    } else {
        store_event e = {.person_id = sg->person_id,
                         .ts_ms = sg->ts_ms,
                         .last_seen_ms = sg->ts_ms,
                         .camera_id = sg->camera_id,
                         .confidence = sg->confidence,
                         .liveness = sg->liveness < 0 ? 0 : sg->liveness,
                         .sightings = 1,
                         .schedule_id = sl.schedule_id,
                         .face_id = sg->face_id};
        memcpy(e.box, sg->box, sizeof e.box);
        snprintf(e.kind, sizeof e.kind, "%s", kind);
        judge(&sl, kind, sg->ts_ms, e.status);
        memcpy(e.slot_day, sl.day, sizeof e.slot_day);
        snprintf(e.source, sizeof e.source, "%s", sg->source ? sg->source : "auto");
        st = store_event_insert(a->s, &e, err);
        if (st == RC_OK) {
            out->event = e;
            out->best = true;
        }
    }
    free(ev);
    if (st == RC_OK) out->outcome = outcome;
    return st;
}

/* ---- sightings measured live ---------------------------------------------- */

/* Remember a committed sighting that was measured live and made or merged
 * into an event (the caller holds mu). Sightings that skipped liveness
 * (merge_only) are not remembered, so they never extend the window in which
 * others may skip it; nor are a PIN's or a self check-in's (a source of
 * their own), which no camera measured. */
static void live_note(att *a, const att_sighting *sg, const att_result *res)
{
    if (sg->merge_only || sg->liveness < 0 || sg->source || !sg->person_id ||
        (res->outcome != ATT_NEW && res->outcome != ATT_MERGED && res->outcome != ATT_MOVED))
        return;
    int64_t window = (int64_t)a->cfg.dedup_window_s * 1000;
    att_live *l = NULL;
    size_t kept = 0, oldest = 0;
    for (size_t i = 0; i < a->nlive; i++) {
        att_live *x = &a->live[i];
        if (x->person == sg->person_id && x->camera == sg->camera_id)
            l = x;
        else if (x->ts_ms <= sg->ts_ms - window)
            continue; /* its window has ended: dropped */
        a->live[kept] = *x;
        if (x == l) l = &a->live[kept];
        if (a->live[kept].ts_ms < a->live[oldest].ts_ms) oldest = kept;
        kept++;
    }
    a->nlive = kept;
    if (l && l->ts_ms > sg->ts_ms) return; /* an older frame arriving late */
    if (!l) {
        if (!a->live) a->live = malloc(ATT_LIVE_MAX * sizeof *a->live);
        if (!a->live) return; /* out of memory: these faces are measured */
        l = a->nlive < ATT_LIVE_MAX ? &a->live[a->nlive++] : &a->live[oldest];
    }
    *l = (att_live){.person = sg->person_id, .camera = sg->camera_id, .ts_ms = sg->ts_ms};
    snprintf(l->kind, sizeof l->kind, "%s", res->event.kind);
}

bool att_live_recently(att *a, int64_t person_id, int64_t camera_id, const char *kind,
                       int64_t ts_ms)
{
    bool yes = false;
    pthread_mutex_lock(&a->mu);
    int64_t window = (int64_t)a->cfg.dedup_window_s * 1000;
    for (size_t i = 0; i < a->nlive; i++) {
        const att_live *l = &a->live[i];
        if (l->person != person_id || l->camera != camera_id) continue;
        int64_t gap = ts_ms - l->ts_ms;
        yes = gap < window && gap > -window && (!kind || !strcmp(kind, l->kind));
        break;
    }
    pthread_mutex_unlock(&a->mu);
    return yes;
}

/* One sighting in its own transaction (locked per person on PostgreSQL). */
static rc_status record_one(att *a, const rules *r, const att_sighting *sg, const void *jpeg,
                            size_t len, att_result *out, rc_error *err)
{
    rc_status st = store_tx_begin(a->s, sg->person_id ? ATT_LOCK_BASE + sg->person_id : 0, err);
    if (st == RC_OK) {
        st = decide(a, r, sg, jpeg, len, out, err);
        st = store_tx_end(a->s, st, err);
    }
    if (st != RC_OK) memset(out, 0, sizeof *out);
    return st;
}

/* A batch from the commit queue (SQLite): every sighting decided in arrival
 * order in one transaction, so each sees the ones before it, and committed
 * with one fsync. When any of them fails the transaction is rolled back and
 * each is recorded again in its own, so one bad sighting costs the others
 * nothing. Returns the number of commits made. */
static uint64_t record_batch(att *a, pending *batch)
{
    rules r = rules_now(a);
    if (!batch->next) {
        batch->st = record_one(a, &r, batch->sg, batch->jpeg, batch->len, batch->out, batch->err);
        return batch->st == RC_OK;
    }
    rc_error err;
    rc_status st = store_tx_begin(a->s, 0, &err);
    if (st == RC_OK) {
        for (pending *p = batch; p && st == RC_OK; p = p->next)
            st = decide(a, &r, p->sg, p->jpeg, p->len, p->out, p->err);
        if (store_tx_end(a->s, st, &err) == RC_OK) {
            for (pending *p = batch; p; p = p->next) p->st = RC_OK;
            return 1;
        }
    }
    uint64_t commits = 0;
    for (pending *p = batch; p; p = p->next) {
        p->st = record_one(a, &r, p->sg, p->jpeg, p->len, p->out, p->err);
        commits += p->st == RC_OK;
    }
    return commits;
}
rc_status att_record(att *a, const att_sighting *sg, const void *jpeg, size_t jpeg_len,
                     att_result *out, rc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!sg || sg->ts_ms <= 0)
        return rc_fail(err, RC_ERR_INVALID, "a sighting needs a time after 1970");
    if (!(sg->confidence >= -1 && sg->confidence <= 1))
        return rc_fail(err, RC_ERR_INVALID, "confidence %g is not in -1..1", sg->confidence);
    if (store_kind(a->s) != STORE_SQLITE) {
        rules r = rules_now(a);
        rc_status st = record_one(a, &r, sg, jpeg, jpeg_len, out, err);
        pthread_mutex_lock(&a->mu);
        a->records++;
        a->commits += st == RC_OK;
        if (st == RC_OK) live_note(a, sg, out);
        pthread_mutex_unlock(&a->mu);
        return st;
    }
    /* SQLite: join the queue; whoever finds no batch running takes the whole
     * queue (this call among them) and commits it, the others wait. */
    pending me = {.sg = sg, .jpeg = jpeg, .len = jpeg_len, .out = out, .err = err};
    pthread_mutex_lock(&a->mu);
    *a->queue_end = &me;
    a->queue_end = &me.next;
    a->waiting++;
    while (!me.done) {
        if (a->committing) {
            pthread_cond_wait(&a->committed, &a->mu);
            continue;
        }
        pending *batch = a->queue;
        size_t n = a->waiting;
        a->queue = NULL;
        a->queue_end = &a->queue;
        a->waiting = 0;
        a->committing = true;
        pthread_mutex_unlock(&a->mu);
        uint64_t commits = record_batch(a, batch);
        pthread_mutex_lock(&a->mu);
        for (pending *p = batch, *next; p; p = next) {
            next = p->next; /* p lives on its caller's stack: read before done */
            p->done = true;
        }
        a->committing = false;
        a->records += n;
        a->commits += commits;
        pthread_cond_broadcast(&a->committed);
    }
    if (me.st == RC_OK) live_note(a, sg, out);
    pthread_mutex_unlock(&a->mu);
    return me.st;
}

static int valid_kind(const char *k)
{
    return k && (!strcmp(k, "entry") || !strcmp(k, "exit"));
}

rc_status att_manual(att *a, int64_t person_id, int64_t ts_ms, const char *kind, const char *reason,
                     const char *actor, store_event *out, rc_error *err)
{
    if (!valid_kind(kind)) return rc_fail(err, RC_ERR_INVALID, "kind must be entry or exit");
    if (!reason || !*reason) return rc_fail(err, RC_ERR_INVALID, "a manual event needs a reason");
    if (strlen(reason) >= sizeof out->reason)
        return rc_fail(err, RC_ERR_LIMIT, "reason is longer than %zu characters",
                       sizeof out->reason - 1);
    rules r = rules_now(a);
    slot sl = {0};
    rc_status st = store_tx_begin(a->s, ATT_LOCK_BASE + person_id, err);
    if (st == RC_OK) {
        st = slot_for(a, &r, person_id, ts_ms, kind, &sl, err);
        if (st != RC_OK) store_tx_end(a->s, st, NULL);
    }
    store_event e = {.person_id = person_id,
                     .ts_ms = ts_ms,
                     .last_seen_ms = ts_ms,
                     .sightings = 1,
                     .schedule_id = sl.schedule_id};
    if (st == RC_OK) {
        snprintf(e.kind, sizeof e.kind, "%s", kind);
        judge(&sl, kind, ts_ms, e.status);
        memcpy(e.slot_day, sl.day, sizeof e.slot_day);
        snprintf(e.reason, sizeof e.reason, "%s", reason);
        st = store_event_manual_add(a->s, &e, actor, err);
        st = store_tx_end(a->s, st, err);
    }
    if (st == RC_OK && out) *out = e;
    return st;
}

rc_status att_correct(att *a, int64_t event_id, int64_t ts_ms, const char *kind, const char *reason,
                      const char *actor, store_event *out, rc_error *err)
{
    if (kind && !valid_kind(kind))
        return rc_fail(err, RC_ERR_INVALID, "kind must be entry or exit");
    if (!reason || !*reason) return rc_fail(err, RC_ERR_INVALID, "a correction needs a reason");
    if (strlen(reason) >= sizeof out->reason)
        return rc_fail(err, RC_ERR_LIMIT, "reason is longer than %zu characters",
                       sizeof out->reason - 1);
    rules r = rules_now(a);
    /* The event's person's lock, as a new sighting of them takes it. */
    store_event e;
    rc_status st = store_event_get(a->s, event_id, &e, err);
    if (st == RC_OK) st = store_tx_begin(a->s, ATT_LOCK_BASE + e.person_id, err);
    if (st != RC_OK) return st;
    st = store_event_get(a->s, event_id, &e, err);
    slot sl;
    if (st == RC_OK) {
        if (ts_ms > 0) e.ts_ms = e.last_seen_ms = ts_ms;
        if (kind) snprintf(e.kind, sizeof e.kind, "%s", kind);
        st = slot_for(a, &r, e.person_id, e.ts_ms, e.kind, &sl, err);
    }
    if (st == RC_OK) {
        e.schedule_id = sl.schedule_id;
        memcpy(e.slot_day, sl.day, sizeof e.slot_day);
        judge(&sl, e.kind, e.ts_ms, e.status);
        snprintf(e.reason, sizeof e.reason, "%s", reason);
        st = store_event_correct(a->s, &e, actor, err);
    }
    st = store_tx_end(a->s, st, err);
    /* As stored: with who corrected it and when. */
    if (st == RC_OK && out) st = store_event_get(a->s, event_id, out, err);
    return st;
}

rc_status att_tx_begin(att *a, int64_t person_id, rc_error *err)
{
    return store_tx_begin(a->s, ATT_LOCK_BASE + person_id, err);
}

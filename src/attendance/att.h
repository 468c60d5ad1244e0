/*
 * att — the attendance rules: turn recognitions into entry and exit events,
 * judge them against schedules in the institution's time zone, and build
 * reports and CSV/XLSX exports. Everything is stored through src/store;
 * every function takes the event time explicitly (never reads the clock
 * itself), so tests can drive time.
 *
 * Rules, in the order att_record applies them:
 *  1. A sighting below `recognition_threshold`, failing `liveness_threshold`,
 *     or of an unknown face creates no event; it is kept as an unrecognized
 *     sighting when `keep_unrecognized` is on.
 *  2. It belongs to a slot: the person's schedule (own or a group's) whose
 *     [start − margin, end + margin] holds the time, nearest first, never on
 *     a holiday; otherwise the local day (status "outside").
 *  3. Within `dedup_window_s` of the last sighting merged into an event of
 *     the same slot, it merges: count + 1, best confidence (with its box,
 *     liveness and camera) kept. A gap of exactly the window is new. A
 *     sighting that skipped liveness (merge_only, att_live_recently) may
 *     only merge by this rule, and is never the best. By day, with no event
 *     made for that slot, the person's last event stands for it.
 *  4. A camera with direction entry or exit decides the kind. Otherwise, by
 *     day (presence_mode "day", the default): a person out (no event yet
 *     that day, or an exit last) enters; one in since at least `min_stay_s`
 *     exits; within `min_stay_s` of the day's last event the sighting is
 *     that event (an entry merges, an exit moves: the last one wins). By
 *     slot: the first sighting in the slot is the entry; one at least
 *     `min_stay_s` after the entry is the exit, and a later one moves the
 *     exit (the last one wins); one before that merges into the entry.
 *     By day, an exit from a shift that ended at most slot_margin_min
 *     before, with the slot under way begun by then (a night shift handed
 *     over to the morning one), is that shift's, not an early leave from
 *     the one under way; out by it, the next sighting past the window is
 *     the entry to the slot under way.
 *  5. Status: entry after start + grace is "late", else "on_time"; exit
 *     before end − grace is "early_leave", else "on_time" (the event's own
 *     status, judged against its slot). Presence in a slot (att_presence)
 *     and absence are computed by reports: absent is a slot whose start +
 *     grace has passed without the person present in it (so during the day
 *     too; a later entry turns it into "late"), never on holidays, never
 *     before the person's counting start (see reports).
 *
 * Settings (store settings table; defaults in brackets): timezone [system],
 * dedup_window_s [300], min_stay_s [600], slot_margin_min [60],
 * recognition_threshold [GALLERY_DEFAULT_THRESHOLD, the gallery's calibrated
 * 0.1% false-accept cosine], liveness_threshold [FACE_DEFAULT_LIVENESS_THRESHOLD,
 * 0.7, chosen on the liveness evaluation], keep_unrecognized [0],
 * unrecognized_retention_days [30; 0 keeps them until deleted by hand],
 * attendance_start_day [the day of the first attendance event or of the
 * database's creation, whichever came first; att_start_day],
 * presence_mode [day; att_presence].
 * recognition_threshold is the one threshold of the recognize path: it decides
 * identity (known or unknown) and, with the same value, whether a sighting may
 * become an event.
 */
#ifndef RC_ATT_H
#define RC_ATT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../rc/rc.h"
#include "../store/store.h"

/* ---- time zones and calendar days ----------------------------------------- */

/* An immutable, thread-safe time zone read from the TZ database. */
typedef struct att_tz att_tz;

/* name: "Europe/Berlin", "UTC", a POSIX rule, or NULL/"" for the system's
 * zone ($TZ, else /etc/localtime). Unknown names give RC_ERR_NOT_FOUND. */
rc_status att_tz_load(const char *name, att_tz **out, rc_error *err);
void att_tz_free(att_tz *tz);
const char *att_tz_name(const att_tz *tz);

typedef struct {
    int year, month, day, hour, minute, second;
    int wday;     /* 0 Sunday .. 6 Saturday */
    int64_t days; /* local calendar day as days since 1970-01-01 */
    int utc_offset_s;
    int is_dst;
} att_local;

/* The local wall time of a UTC instant. */
void att_tz_local(const att_tz *tz, int64_t utc_ms, att_local *out);
/* The UTC instant of a local wall time (day as days since 1970-01-01, minute
 * 0..1440). A time skipped by a DST jump maps as if the clock had not moved
 * yet (02:30 → 03:30 local); a repeated time maps to its first occurrence. */
int64_t att_tz_utc(const att_tz *tz, int64_t days, int minute_of_day);

/* Civil dates: rc_days_from_civil and rc_civil_from_days (rc.h). */
int att_weekday(int64_t days);                   /* 0 Sunday */
void att_day_string(int64_t days, char out[11]); /* YYYY-MM-DD */
int att_parse_day(const char *s, int64_t *days); /* 0 ok, -1 not a valid date */

/* ---- configuration and recording ------------------------------------------ */

/* How reports judge a slot (setting presence_mode).
 *  - ATT_PRESENCE_DAY ("day", the default; cameras or a kiosk at the door):
 *    a person is in from an entry until their next exit (a stay; it belongs
 *    to the day its entry was made for and may end on the next local day,
 *    up to ATT_STAY_AFTER_MS after that day's last slot).
 *    A slot is attended when they have an entry in it or are already in at
 *    its start (then on time); late when the first entry that covers it came
 *    after start + grace; early leave when their exit came inside the slot
 *    before end − grace with no re-entry before end − grace. Time on site is
 *    the slot's overlap with the person's time in.
 *  - ATT_PRESENCE_SLOT ("slot"; a camera in each classroom): attended means
 *    an entry in the slot itself; late and early leave are its first entry's
 *    and last exit's statuses. */
typedef enum { ATT_PRESENCE_DAY, ATT_PRESENCE_SLOT } att_presence;

/* By day, how long after the end of its day's last slot a stay may still
 * end with an exit (always at least to the end of its entry's local day): a
 * night shift's exit the next morning, or a double shift's, ends the stay
 * begun the evening before; an exit later than this leaves that stay
 * without one ("missing exit"). */
#define ATT_STAY_AFTER_MS (12 * 3600 * 1000LL)

const char *att_presence_name(att_presence p);
/* 0 and *out set for "day" or "slot"; -1 otherwise. */
int att_presence_parse(const char *s, att_presence *out);

typedef struct {
    char timezone[64]; /* "" = the system's */
    int dedup_window_s;
    int min_stay_s;
    int slot_margin_min;
    double recognition_threshold;
    double liveness_threshold;
    int keep_unrecognized;
    int unrecognized_retention_days; /* kept faces older than this are erased; 0: never */
    char start_day[11];    /* YYYY-MM-DD: no absences before it; "" = the default (att_start_day) */
    att_presence presence; /* how reports judge a slot */
} att_config;

/* Settings from the store, defaults for those never set; values out of
 * range are refused with RC_ERR_INVALID naming the setting. */
rc_status att_config_load(store *s, att_config *out, rc_error *err);
rc_status att_config_save(store *s, const att_config *c, rc_error *err);

/* The institution's start as a local day (days since 1970-01-01) in zone tz:
 * the attendance_start_day setting, or when it is unset the day Rollcall
 * began to be used (the first attendance event or the database's creation,
 * whichever came first; store_started_ms). No absence counts before it. */
typedef struct att att;
rc_status att_start_day(att *a, const att_tz *tz, int64_t *days, rc_error *err);

/* Whether the local day `day` ("YYYY-MM-DD") is a holiday. */
rc_status att_is_holiday(store *s, const char *day, int *yes, rc_error *err);

/* The rules engine: a store, the configuration and the loaded time zone.
 * Thread-safe: two decisions about the same person never interleave (one
 * store transaction each, serialised by the database), and on SQLite the
 * att_record calls that arrive during a commit are committed together by the
 * next one (group commit: one fsync for many sightings). */
rc_status att_create(store *s, att **out, rc_error *err);
void att_destroy(att *a);
/* Re-read settings (after they changed). */
rc_status att_reload(att *a, rc_error *err);
void att_get_config(att *a, att_config *out);
/* The zone in force; valid until the next att_reload. */
const att_tz *att_zone(att *a);
/* Minutes after its slot's start for a late entry (what the kiosk says:
 * "Tarde (12 min)"); 0 for any other event. */
int att_minutes_late(att *a, const store_event *e);
/* Erase the kept faces (unrecognized sightings and the probes kept with
 * events) seen more than unrecognized_retention_days before now_ms; the
 * events themselves stay. With the setting 0 nothing is erased. *removed
 * (may be NULL) receives how many went. */
rc_status att_expire_unrecognized(att *a, int64_t now_ms, int64_t *removed, rc_error *err);

typedef struct {
    int64_t person_id;  /* best match; 0 for an unknown face */
    int64_t ts_ms;      /* when the frame was taken, UTC */
    int64_t camera_id;  /* 0: none */
    double confidence;  /* similarity of the best match */
    float box[4];       /* x, y, w, h in pixels */
    double liveness;    /* real-face score 0..1; < 0 when not measured */
    const char *kind;   /* "entry"/"exit" chosen by the person (kiosk buttons, PIN);
                           NULL: the camera or rule 4 decides. A chosen kind merges only
                           into an event of that kind. */
    const char *source; /* the new event's source ("pin"); NULL: "auto" */
    int64_t face_id;    /* the enrolled face that matched best; 0: none */
    /* Liveness was not measured because att_live_recently said the person
     * was measured live here within the window: the sighting only merges
     * into the event of rule 3 (count + 1, last seen), never creates or
     * moves an event and never becomes its best (confidence, box, liveness,
     * face and probe stay those of measured sightings). When rule 3 does
     * not hold any more, nothing is written and the outcome is
     * ATT_NEEDS_LIVENESS: measure it and record it again. */
    bool merge_only;
} att_sighting;

typedef enum {
    ATT_IGNORED,        /* not recognized / not live, not kept */
    ATT_UNRECOGNIZED,   /* kept as an unrecognized sighting */
    ATT_NEW,            /* a new entry or exit event */
    ATT_MERGED,         /* merged into an existing event (count, best confidence) */
    ATT_MOVED,          /* the exit moved to this later sighting (last wins) */
    ATT_NEEDS_LIVENESS, /* merge_only, and rule 3 does not hold: nothing written */
} att_outcome;

const char *att_outcome_name(att_outcome o);

typedef struct {
    att_outcome outcome;
    store_event event;   /* the event created or updated (ATT_NEW/MERGED/MOVED) */
    int64_t sighting_id; /* ATT_UNRECOGNIZED */
    /* The sighting is now the event's best (a new event, or a better match
     * merged): its face_id stands for the event, and so should its crop as
     * the event's probe (store_event_probe_set; the caller makes the crop
     * only then, not for every merged frame). */
    bool best;
} att_result;

/* Counters since att_create: sightings recorded, transactions committed for
 * them (fewer than records when group commit joined them); and now: calls
 * waiting in the commit queue, and whether a batch is being committed
 * (SQLite). */
typedef struct {
    uint64_t records;
    uint64_t commits;
    size_t waiting;
    bool committing;
} att_stats;
void att_get_stats(att *a, att_stats *out);

/* Apply the rules to one recognition. jpeg (may be NULL) is the face crop
 * kept with an unrecognized sighting when keep_unrecognized is on. When this
 * returns RC_OK the event is committed to the store (durable: the commit's
 * fsync is done). */
rc_status att_record(att *a, const att_sighting *sg, const void *jpeg, size_t jpeg_len,
                     att_result *out, rc_error *err);

/* Whether a sighting of person_id at camera_id (0: none) at ts_ms may skip
 * liveness: it falls within the de-duplication window of a sighting of
 * theirs at that camera that was measured live and made or merged into an
 * event (source "auto", with the same kind when `kind` is chosen). Asked
 * of memory only (what att_record of this engine recorded; a reload that
 * changes liveness_threshold forgets it), never of the store: a sighting
 * another node recorded is not known here, and is measured. The window
 * starts at the measured sighting, so sightings recorded with merge_only
 * do not extend it: one window after the last measured sighting, the next
 * one is measured again. */
bool att_live_recently(att *a, int64_t person_id, int64_t camera_id, const char *kind,
                       int64_t ts_ms);

/* The person's schedule slot (own or a group's, never on a holiday) whose
 * [start - margin_min, end + margin_min] holds ts_ms, the nearest when
 * several do; schedule_id 0 when none does. Self check-in asks with its own
 * window instead of slot_margin_min. */
typedef struct {
    int64_t schedule_id; /* 0: no slot holds the time */
    char day[11];        /* the slot's local day */
    int64_t start_ms, end_ms;
} att_slot;
rc_status att_slot_at(att *a, int64_t person_id, int64_t ts_ms, int margin_min, att_slot *out,
                      rc_error *err);

/* Manual event (forgotten face, camera down): slot and status are judged
 * like an automatic one; the reason and actor go to the audit log. */
rc_status att_manual(att *a, int64_t person_id, int64_t ts_ms, const char *kind, const char *reason,
                     const char *actor, store_event *out, rc_error *err);
/* Correct an event's time and/or kind (kind NULL keeps it); status and slot
 * are judged again; the original values stay in the audit log. */
rc_status att_correct(att *a, int64_t event_id, int64_t ts_ms, const char *kind, const char *reason,
                      const char *actor, store_event *out, rc_error *err);
/* Begin a store transaction (store_tx_begin) holding person_id's attendance
 * lock, the one recording, att_manual and att_correct take: the calls made
 * before store_tx_end join it, so a caller can make a manual event or a
 * correction and its own writes (a request's decision, its audit entry) one
 * all-or-nothing change. */
rc_status att_tx_begin(att *a, int64_t person_id, rc_error *err);

/* ---- reports -------------------------------------------------------------- */

/* Which slots count. A slot is judged against the person's counting start:
 * the latest of the institution's start (att_start_day), the local day the
 * person was added and, for a group's slot, the day they joined that group;
 * and it counts only before the local day they were archived. Outside that
 * window a slot the person was not present in makes no row at all (no absence, no
 * "pending"); one they were present in still counts as attended. Archived people
 * stay in reports for the days before their archive day. Holidays have no
 * slots; days without slots have no rows. */
typedef struct {
    const char *from_day, *to_day; /* YYYY-MM-DD, inclusive, at most 366 days */
    int64_t person_id;             /* 0: everyone (active) */
    int64_t group_id;              /* 0: any group; else the group's members and, of
                                      their slots, only the group's */
    const char *label;             /* NULL/"": any; else only slots with this label
                                      (subject), and no "outside" rows */
    int64_t now_ms; /* slots whose start + grace is after this are "pending", not absent */
    /* When `scoped` (a manager limited to some groups): of a person's slots,
     * only those of groups[0..ngroups) and of the person's own schedules
     * make rows, and only those groups get a summary. A slot left out (by
     * this or by group_id) still takes the events made for it, so they do
     * not show as "outside" either. */
    bool scoped;
    const int64_t *groups;
    size_t ngroups;
    /* When scoped and `persons` is set: only these people (ids sorted by
     * rc_cmp_i64; the members of those groups) make rows, the others are
     * not built at all. */
    const int64_t *persons;
    size_t npersons;
} att_query;

/* The name to show for an actor as the audit log names it: "user:3" gives
 * that account's name (else its e-mail); anything else stays as it is. */
void att_actor_name(store *s, const char *actor, char *out, size_t cap);

/* One person's one slot (or, without a matching schedule, one day). */
typedef struct {
    int64_t person_id;
    char external_id[64];
    char name[128];
    char day[11];
    int64_t schedule_id; /* 0: outside any schedule */
    int64_t group_id;    /* the schedule's group; 0 for a person's own or none */
    char label[128];
    int64_t start_ms, end_ms; /* the slot, 0 when outside */
    char status[16];          /* "present", "late", "absent", "pending", "outside", "leave" */
    int present, late, early_leave, absent;
    /* The person's leave that touches the slot (store_leave kind: "sick",
     * "vacation", ...; "" none). A slot it covers wholly (a day's leave covers
     * all) that they were not present in is "leave" (leave 1), never absent
     * or pending; one they came to counts as attended and still names it.
     * Part of a day excuses a late arrival when it covers the slot's start
     * and an early leave when it covers its end (att_report.c). */
    char leave_kind[16];
    int leave;
    /* 0: none. In "day" mode the entry the slot's presence starts with (an
     * earlier one when the person was already in) and the exit that ended
     * the last stay in the slot; none for an absent or pending slot. */
    int64_t first_entry_ms, last_exit_ms;
    int64_t on_site_ms; /* "day": the slot's overlap with the time in (0 on a row outside
                           any slot); "slot": entry→exit spans */
    /* "day": the time on site outside every slot of the person (overtime
     * candidate) of the stays whose entry was made for this slot (on the
     * day's row outside any slot, those made for none); 0 by slot or with a
     * label. Over a person's rows, on_site_ms + outside_ms = their summary's
     * time on site when no slot is left out and slots do not overlap. */
    int64_t outside_ms;
    /* "day": this is the last slot of a stay that has no exit, and that
     * slot ended more than slot_margin_min ago ("falta la salida"); the row
     * outside any slot when the stay reached no slot. */
    int missing_exit;
    int events; /* events made for this slot */
    /* The latest correction or voiding of one of the row's events (its slot's
     * events, or the day's outside any slot): when (0: none) and by whom, as
     * att_actor_name writes it. */
    int64_t corrected_ms;
    char corrected_by[128];
    /* What payroll reads, in whole minutes (rounded down). minutes_late: a
     * late row's arrival counted from the slot's start (grace is not
     * subtracted: 09:17 for 09:00 with 10 minutes' grace is 17); 0 when on
     * time, within grace. minutes_early_leave: an early leave's exit to the
     * slot's end. overtime_ms: "day": of the time outside every slot of the
     * stays whose entry was made for this row (as outside_ms), the part
     * after the end of the day's last slot, and before its first slot's
     * start when the stay began more than slot_margin_min before it (never
     * a break between slots); on a day without slots of a person with a
     * timetable, all of it. 0 by slot or with a label. */
    int minutes_late, minutes_early_leave;
    int64_t overtime_ms;
} att_row;

typedef struct {
    int64_t person_id;
    char external_id[64];
    char name[128];
    int slots; /* scheduled slots in the range (holidays excluded) */
    int present, late, early_leave, absent;
    int leave;                            /* slots on leave (not present): not in the rate */
    int leave_by_kind[STORE_LEAVE_KINDS]; /* the same by store_leave_kinds[] */
    int days_outside;                     /* days with events outside any schedule */
    int64_t on_site_ms; /* "day": the time in of the stays begun in the range (entry to
                           exit; an entry with no exit counts up to the end of its day's last
                           slot or now); "slot" or with a label: the rows' sum */
    int64_t outside_ms; /* "day": the part of on_site_ms outside every slot (overtime
                           candidate); on_site_ms - outside_ms is the time in slots */
    int missing_exits;  /* rows marked missing_exit */
    int64_t first_entry_ms, last_exit_ms;
    /* The rows' minutes_late and minutes_early_leave, and by day the
     * stays' overtime (the part of outside_ms after or, arrived more than
     * slot_margin_min early, before the day's slots; att_row). */
    int minutes_late, minutes_early_leave;
    int64_t overtime_ms;
} att_person_summary;

typedef struct {
    int64_t group_id;
    char name[128];
    int members;
    int slots, present, late, early_leave, absent, leave;
    double present_rate; /* present / (present + absent), 0 when none */
    double late_rate;    /* late / present */
} att_group_summary;

typedef struct {
    char from_day[11], to_day[11];
    char timezone[64];
    att_row *rows;
    size_t nrows;
    att_person_summary *people;
    size_t npeople;
    att_group_summary *groups;
    size_t ngroups;
} att_report;

rc_status att_report_build(att *a, const att_query *q, att_report *out, rc_error *err);
void att_report_free(att_report *r);

/* How an export reads: the language of headers, sheet names and status
 * values ("en": the column names scripts read, "es": Spanish words), and for
 * CSV the separator and whether a UTF-8 byte-order mark comes first (Excel
 * in Spanish needs both, ';' and the BOM, to show accents and columns).
 * A language brings its defaults: en → ',' without BOM, es → ';' with BOM.
 * NULL options mean English. */
typedef struct {
    const char *lang; /* "en" or "es" */
    char separator;   /* ',' ';' or '\t' */
    int bom;
} att_export_opts;
/* Options from text (the API's query and the CLI's flags): lang "en"/"es"
 * (NULL/"": en), sep "comma"/"semicolon"/"tab" or the character itself
 * (NULL/"": the language's), bom "1"/"true"/"0"/"false" (NULL/"": the
 * language's). RC_ERR_INVALID naming the value otherwise. */
rc_status att_export_parse(const char *lang, const char *sep, const char *bom, att_export_opts *out,
                           rc_error *err);

/* One day's figures, counted in people — the one computation behind the
 * dashboard's cards and its chart. A person with a slot that day is
 * expected; present with an entry in at least one of the day's slots; late
 * or early_leave when one of those was; absent when not present and at least
 * one slot's start + grace has passed; on leave when not present and their
 * slots were on leave; otherwise pending. */
typedef struct {
    char day[11];
    int expected, present, late, early_leave, absent, pending, leave;
    double rate; /* present / (present + absent); -1 when nobody was judged yet */
} att_day;

/* The report's days that have at least one slot, in day order (caller
 * frees *out). */
rc_status att_report_days(const att_report *r, att_day **out, size_t *n, rc_error *err);

/* Keep only the rows with status "absent" on `day` (NULL: any day), in
 * place: the absentee list ("who is missing now" with now_ms = now). */
void att_report_keep_absent(att_report *r, const char *day);

/* CSV: one line per row (RFC 4180 quoting; cells that a spreadsheet would
 * run as a formula are prefixed with '). Times are local HH:MM. */
rc_status att_export_csv(const att_report *r, const att_tz *tz, const att_export_opts *opt,
                         FILE *out, rc_error *err);
/* XLSX workbook at path with sheets "Summary" and "Detail" ("Resumen",
 * "Detalle" in Spanish): people, then groups; one row per person and slot. */
rc_status att_export_xlsx(const att_report *r, const att_tz *tz, const att_export_opts *opt,
                          const char *path, rc_error *err);

#endif

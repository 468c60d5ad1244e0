/*
 * att_report.c — attendance reports: for each person and each day of a range,
 * one row per scheduled slot (present, late, early leave, absent or pending)
 * plus one row for events outside any slot; then a summary per person and
 * per group with present and late rates. Slots are laid out in the
 * institution's time zone, so a day with a DST change still has its 08:00
 * class at 08:00 local time. Holidays have no slots, hence no absences; a
 * slot is absent once its start + grace has passed without the person in it
 * (presence_mode "day": an entry in it or one earlier that day with no exit
 * before its start; "slot": an entry made for it), and never before the
 * person's counting start (att.h, att_presence, att_query), nor on a day of
 * the person's leave (status "leave", counted apart; part of a day's leave
 * only for the slots it covers, and it excuses the late arrival or early
 * leave at the slot's edge it covers: leave_touch). The per-day
 * figures (att_report_days) count people and feed both the dashboard's cards
 * and its chart.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "att.h"
#include "att_private.h"

#define REPORT_MAX_DAYS 366

typedef struct {
    void *items;
    size_t n, cap, elem;
} vec;

static void *vec_push(vec *v)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 32;
        void *p = realloc(v->items, nc * v->elem);
        if (!p) return NULL;
        v->items = p;
        v->cap = nc;
    }
    void *slot = (char *)v->items + v->n++ * v->elem;
    memset(slot, 0, v->elem);
    return slot;
}

void att_report_free(att_report *r)
{
    if (!r) return;
    free(r->rows);
    free(r->people);
    free(r->groups);
    memset(r, 0, sizeof *r);
}

/* Every event of one person with slot_day in [from, to], by time, voided
 * ones included (they count for nothing but the "corrected" mark). */
static rc_status person_events(store *s, int64_t person, const char *from, const char *to,
                               store_event **out, size_t *n, rc_error *err)
{
    store_event_filter f = {.person_id = person, .from_day = from, .to_day = to, .include_void = 1};
    vec v = {.elem = sizeof(store_event)};
    for (int64_t off = 0;; off += 10000) {
        store_event *page = NULL;
        size_t got = 0;
        rc_status st = store_event_list(s, &f, (store_page){.limit = 10000, .offset = off}, &page,
                                        &got, NULL, err);
        if (st != RC_OK) {
            free(v.items);
            return st;
        }
        for (size_t i = 0; i < got; i++) {
            store_event *e = vec_push(&v);
            if (!e) {
                free(page);
                free(v.items);
                return rc_fail(err, RC_ERR_NOMEM, "out of memory");
            }
            *e = page[i];
        }
        free(page);
        if (got < 10000) break;
    }
    *out = v.items;
    *n = v.n;
    return RC_OK;
}

void att_actor_name(store *s, const char *actor, char *out, size_t cap)
{
    char own[128]; /* out may be actor */
    snprintf(own, sizeof own, "%s", actor);
    actor = own;
    long long uid;
    int used = 0;
    store_user u;
    if (sscanf(actor, "user:%lld%n", &uid, &used) == 1 && !actor[used] &&
        store_user_get(s, uid, &u, NULL) == RC_OK)
        actor = u.name[0] ? u.name : u.email;
    snprintf(out, cap, "%s", actor);
}

/* Mark the row of the slot event e was made for (else its day's row
 * outside any slot) with e's correction, the latest one winning. */
static void mark_corrected(att_row *rows, size_t n, const store_event *e)
{
    if (!e->corrected_ms) return;
    att_row *to = NULL;
    for (size_t i = 0; i < n && !to; i++)
        if (!strcmp(rows[i].day, e->slot_day) && e->schedule_id &&
            rows[i].schedule_id == e->schedule_id)
            to = &rows[i];
    for (size_t i = 0; i < n && !to; i++)
        if (!strcmp(rows[i].day, e->slot_day) && !rows[i].schedule_id) to = &rows[i];
    if (!to || to->corrected_ms >= e->corrected_ms) return;
    to->corrected_ms = e->corrected_ms;
    snprintf(to->corrected_by, sizeof to->corrected_by, "%s", e->corrected_by);
}

/* Fill first entry, last exit and time on site from events (in time order). */
static void fill_times(att_row *r, store_event *const *ev, size_t n)
{
    int64_t open = 0;
    for (size_t i = 0; i < n; i++) {
        const store_event *e = ev[i];
        r->events++;
        if (!strcmp(e->kind, "entry")) {
            if (!r->first_entry_ms) r->first_entry_ms = e->ts_ms;
            if (!open) open = e->ts_ms;
        } else {
            r->last_exit_ms = e->ts_ms;
            if (open && e->ts_ms > open) r->on_site_ms += e->ts_ms - open;
            open = 0;
        }
    }
}

/* One stay on site in "day" mode: from an entry to the next exit. It
 * belongs to the day its entry was made for (the entry's slot day: a night
 * shift's entry at 00:30 is the evening before's) and may end on the next
 * local day (build_stays says how far). */
typedef struct {
    int64_t in_ms, out_ms; /* out_ms 0: no exit */
    const store_event *entry, *exit;
    int64_t day;   /* the day it belongs to (days since 1970-01-01) */
    int64_t reach; /* without an exit, how far it counts: the end of its day's last slot
                      (never before in_ms); with one, out_ms */
    bool missing;  /* no exit, and its day's last slot ended more than the margin ago */
} stay;

/* Where a stay's time stops: its exit, or without one its reach, not after
 * now (never before the entry). */
static int64_t stay_end(const stay *s, int64_t now_ms)
{
    if (s->out_ms) return s->out_ms;
    int64_t end = s->reach < now_ms ? s->reach : now_ms;
    return end > s->in_ms ? end : s->in_ms;
}

/* The slot being judged by day: its row (start_ms, end_ms set), grace,
 * schedule and day, and the query's time. */
typedef struct {
    att_row *r;
    int grace_min;
    int64_t schedule_id;
    const char *day;
    int64_t now_ms;
} day_slot;

/* Whether event e was made for the slot (its own status then says late or
 * early leave, as judged or as corrected by hand). */
static bool made_for(const day_slot *ds, const store_event *e)
{
    return e && e->schedule_id == ds->schedule_id && !strcmp(e->slot_day, ds->day);
}

/* Judge a slot in "day" mode from the person's stays (in time order, of
 * every day: a stay begun the evening before covers a night slot's morning)
 * and the first entry made for the slot itself (NULL: none): present, late,
 * early leave, first entry, last exit and time on site. Returns whether the
 * person was present. */
static bool judge_day(const day_slot *ds, const stay *st, size_t ns, const store_event *own)
{
    att_row *r = ds->r;
    int64_t S = r->start_ms, E = r->end_ms, grace = (int64_t)ds->grace_min * 60000;
    const store_event *first = NULL;
    bool covered = false;
    /* In at the start: a stay begun by then and ended after it; one with no
     * exit yet only once the start has come (whether they stay is not
     * known), and only up to its day's last slot. */
    for (size_t i = 0; i < ns && !first; i++)
        if (st[i].in_ms <= S &&
            (st[i].out_ms ? st[i].out_ms > S : S <= ds->now_ms && S < st[i].reach)) {
            first = st[i].entry;
            covered = true;
        }
    for (size_t i = 0; i < ns && !first; i++)
        if (st[i].in_ms > S && st[i].in_ms < E) first = st[i].entry; /* came during it */
    /* An entry made for the slot says how it began only when the stay it
     * belongs to reaches into the slot: in at 07:00 and out at 07:15 is
     * not present at 08:30 (before, it was: present, on time). */
    bool own_in = false;
    for (size_t i = 0; own && i < ns && !own_in; i++)
        own_in = st[i].in_ms <= own->ts_ms && own->ts_ms <= st[i].reach && st[i].in_ms < E &&
                 st[i].reach > S;
    if (own_in && (!first || (!covered && own->ts_ms < first->ts_ms))) first = own;
    if (!first) return false;
    r->present = 1;
    /* Late: by the entry the presence starts with, its own status when it
     * was made for this slot; never when already in from an earlier one. */
    if (made_for(ds, first))
        r->late = !strcmp(first->status, "late");
    else
        r->late = !covered && first->ts_ms > S + grace;
    r->first_entry_ms = first->ts_ms;
    /* Early leave: the last stay begun before end − grace ended inside the
     * slot before it (no re-entry before end − grace); an exit made for
     * this slot says it by its own status. */
    int64_t t = E - grace;
    const stay *last = NULL;
    for (size_t i = 0; i < ns; i++)
        if (st[i].in_ms < t) last = &st[i];
    if (last && made_for(ds, last->exit))
        r->early_leave = !strcmp(last->exit->status, "early_leave");
    else
        r->early_leave = last && last->out_ms && last->out_ms >= S && last->out_ms < t;
    /* Payroll's minutes: late from the start (grace not subtracted), early
     * leave from the exit to the end. */
    if (r->late && first->ts_ms > S) r->minutes_late = (int)((first->ts_ms - S) / 60000);
    if (r->early_leave && last && last->out_ms && last->out_ms < E)
        r->minutes_early_leave = (int)((E - (last->out_ms > S ? last->out_ms : S)) / 60000);
    /* Time in the slot, and the exit that ended the last stay belonging to it. */
    for (size_t i = 0; i < ns; i++) {
        bool in_slot = st[i].in_ms < E && st[i].reach > S;
        bool holds_first = st[i].in_ms <= first->ts_ms && st[i].reach > first->ts_ms;
        if (!in_slot && !holds_first) continue;
        r->last_exit_ms = st[i].out_ms;
        if (!in_slot) continue;
        int64_t from = st[i].in_ms > S ? st[i].in_ms : S;
        int64_t to = stay_end(&st[i], ds->now_ms);
        if (to > E) to = E;
        if (to > from) r->on_site_ms += to - from;
    }
    return true;
}

/* A new report row for person p on day ds (YYYY-MM-DD); NULL when out of memory. */
static att_row *day_row(vec *rows, const store_person *p, const char *ds)
{
    att_row *r = vec_push(rows);
    if (!r) return NULL;
    r->person_id = p->id;
    memcpy(r->external_id, p->external_id, sizeof r->external_id);
    memcpy(r->name, p->name, sizeof r->name);
    memcpy(r->day, ds, sizeof r->day);
    return r;
}

/* Add a row's first entry and last exit to its person's summary, and its
 * time on site when `time` (by slot; by day the stays count instead). */
static void add_times(att_person_summary *sum, const att_row *r, bool time)
{
    if (time) sum->on_site_ms += r->on_site_ms;
    if (r->first_entry_ms && (!sum->first_entry_ms || r->first_entry_ms < sum->first_entry_ms))
        sum->first_entry_ms = r->first_entry_ms;
    if (r->last_exit_ms > sum->last_exit_ms) sum->last_exit_ms = r->last_exit_ms;
}

static int is_holiday(const store_holiday *h, size_t n, const char *day)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i].day, day)) return 1;
    return 0;
}

/* What person_rows needs besides the person: the range, holidays, the
 * query's label and time, the zone, and the person's counting window (local
 * days): from count_from (institution start, person added) until the day
 * before count_until (archived; INT64_MAX while active). */
typedef struct {
    int64_t d0, d1;
    const char *from, *to;
    const store_holiday *hol;
    size_t nhol;
    const store_leave *leaves; /* the range's leaves, by person */
    size_t nleaves;
    const char *label;  /* NULL: any */
    const att_query *q; /* which groups' slots make rows (slot_shown) */
    int64_t now_ms;
    const att_tz *tz;
    int64_t count_from, count_until;
    att_presence presence;
    int64_t margin_ms; /* slot_margin_min: a stay's exit is missing this long after its last slot */
} rows_ctx;

/* Person id's leaves in the range's (which are by person): *n of them from
 * the one returned. */
static const store_leave *leaves_of(const rows_ctx *cx, int64_t id, size_t *n)
{
    size_t lo = 0, hi = cx->nleaves;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cx->leaves[mid].person_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (hi = lo; hi < cx->nleaves && cx->leaves[hi].person_id == id;) hi++;
    *n = hi - lo;
    return cx->leaves + lo;
}

/* The leave of l[0..n) that covers day ds, or NULL. */
static const store_leave *leave_on(const store_leave *l, size_t n, const char *ds)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].from_day, ds) <= 0 && strcmp(ds, l[i].to_day) <= 0) return &l[i];
    return NULL;
}

/* How the leave l (NULL: none) of local day `day` touches the slot [S, E):
 * LEAVE_START when it covers the slot's start, LEAVE_END its end (both: the
 * whole slot), LEAVE_IN when it only falls inside; 0 when it misses the slot.
 * A whole day's leave covers all its slots; part of a day, the local minutes
 * [from_min, to_min). *lf, *lt: where it begins and ends (UTC ms). */
enum { LEAVE_START = 1, LEAVE_END = 2, LEAVE_WHOLE = 3, LEAVE_IN = 4 };
static int leave_touch(const att_tz *tz, const store_leave *l, int64_t day, int64_t S, int64_t E,
                       int64_t *lf, int64_t *lt)
{
    if (!l) return 0;
    *lf = att_tz_utc(tz, day, l->to_min ? l->from_min : 0);
    *lt = att_tz_utc(tz, day, l->to_min ? l->to_min : 1440);
    if (!l->to_min) return LEAVE_WHOLE;
    if (*lt <= S || *lf >= E) return 0;
    return (*lf <= S ? LEAVE_START : 0) | (*lt >= E ? LEAVE_END : 0) | LEAVE_IN;
}

/* A slot attended on a leave day: arriving after start + grace is not late
 * when the leave covers the start and the arrival came by the leave's end +
 * grace; leaving before end − grace is not an early leave when the leave
 * covers the end and the exit came from the leave's start − grace on. */
static void leave_excuses(att_row *r, int touch, int64_t lf, int64_t lt, int64_t grace_ms)
{
    if ((touch & LEAVE_START) && r->late && r->first_entry_ms <= lt + grace_ms)
        r->late = 0, r->minutes_late = 0;
    if ((touch & LEAVE_END) && r->early_leave && r->last_exit_ms >= lf - grace_ms)
        r->early_leave = 0, r->minutes_early_leave = 0;
}

/* Count a row on leave in its person's summary, by kind. */
static void add_leave(att_person_summary *sum, const att_row *r)
{
    if (!r->leave) return;
    sum->leave++;
    for (int k = 0; k < STORE_LEAVE_KINDS; k++)
        if (!strcmp(r->leave_kind, store_leave_kinds[k])) sum->leave_by_kind[k]++;
}

/* The local day of a UTC instant (days since 1970-01-01). */
static int64_t local_day(const att_tz *tz, int64_t ms)
{
    att_local l;
    att_tz_local(tz, ms, &l);
    return l.days;
}

/* The first local day a slot of schedule sc counts for the person: the
 * person's counting start, or for a group's slot the day they first joined
 * that group if later. */
static int64_t slot_counts_from(const rows_ctx *cx, const store_schedule *sc,
                                const store_membership *mem, size_t nmem)
{
    int64_t from = cx->count_from;
    for (size_t i = 0; sc->group_id && i < nmem; i++)
        if (mem[i].group_id == sc->group_id) { /* the first (mem is by join time) */
            int64_t joined = mem[i].joined_ms > 0 ? local_day(cx->tz, mem[i].joined_ms) : from;
            if (joined > from) from = joined;
            break;
        }
    return from;
}

/* A group's slots are the person's while they are in the group: each of
 * sc's group slots becomes one copy per membership of that group (mem, by
 * group and join time), its days in force cut to end the day before the
 * person left and, for a membership after the first, to begin the day they
 * joined again (the first's join day is slot_counts_from's); copies that
 * keep no day go. *sc is replaced (caller frees). */
static rc_status clip_to_memberships(const rows_ctx *cx, store_schedule **sc, size_t *nsc,
                                     const store_membership *mem, size_t nmem, rc_error *err)
{
    size_t need = 0;
    for (size_t k = 0; k < *nsc; k++) {
        size_t c = 0;
        for (size_t i = 0; (*sc)[k].group_id && i < nmem; i++)
            c += mem[i].group_id == (*sc)[k].group_id;
        need += c ? c : 1;
    }
    store_schedule *out = malloc((need ? need : 1) * sizeof *out);
    if (!out) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t k = 0; k < *nsc; k++) {
        const store_schedule *a = &(*sc)[k];
        bool first = true, any = false;
        for (size_t i = 0; a->group_id && i < nmem; i++) {
            if (mem[i].group_id != a->group_id) continue;
            any = true;
            store_schedule c = *a;
            char d[11];
            if (mem[i].left_ms) {
                att_day_string(local_day(cx->tz, mem[i].left_ms) - 1, d);
                if (!c.valid_to[0] || strcmp(d, c.valid_to) < 0) memcpy(c.valid_to, d, sizeof d);
            }
            if (!first && mem[i].joined_ms) {
                att_day_string(local_day(cx->tz, mem[i].joined_ms), d);
                if (!c.valid_from[0] || strcmp(d, c.valid_from) > 0)
                    memcpy(c.valid_from, d, sizeof d);
            }
            first = false;
            if (c.valid_from[0] && c.valid_to[0] && strcmp(c.valid_from, c.valid_to) > 0) continue;
            out[n++] = c;
        }
        if (!any) out[n++] = *a;
    }
    free(*sc);
    *sc = out;
    *nsc = n;
    return RC_OK;
}

/* Whether a slot of group_id (0: the person's own schedule) makes a row:
 * with the query's group_id, that group's only; when scoped, the person's
 * own and the scope's groups'. */
static bool slot_shown(const att_query *q, int64_t group_id)
{
    if (q->group_id && group_id != q->group_id) return false;
    if (!q->scoped || !group_id) return true;
    for (size_t i = 0; i < q->ngroups; i++)
        if (q->groups[i] == group_id) return true;
    return false;
}

/* The spans [start, end) of the person's slots on local day `day` (every
 * schedule, whatever the query shows; none on a holiday), at most 3 * nsc
 * written to sp; returns how many. */
static size_t day_spans(const rows_ctx *cx, const store_schedule *sc, size_t nsc, int64_t day,
                        int64_t (*sp)[2])
{
    char ds[11];
    att_day_string(day, ds);
    if (is_holiday(cx->hol, cx->nhol, ds)) return 0;
    int wd = att_weekday(day);
    size_t n = 0;
    for (size_t k = 0; k < nsc; k++) {
        if (sc[k].dow != wd || !store_schedule_valid_on(&sc[k], ds)) continue;
        sp[n][0] = att_tz_utc(cx->tz, day, sc[k].start_min);
        sp[n][1] = sc[k].end_min > sc[k].start_min ? att_tz_utc(cx->tz, day, sc[k].end_min)
                                                   : att_tz_utc(cx->tz, day + 1, sc[k].end_min);
        n++;
    }
    return n;
}

/* The end of day's last slot; INT64_MIN when it has none. */
static int64_t day_last_end(const rows_ctx *cx, const store_schedule *sc, size_t nsc, int64_t day,
                            int64_t (*sp)[2])
{
    int64_t last = INT64_MIN;
    size_t n = day_spans(cx, sc, nsc, day, sp);
    for (size_t i = 0; i < n; i++)
        if (sp[i][1] > last) last = sp[i][1];
    return last;
}

/* The person's stays, by day, from their events (in time order). An entry
 * while out begins a stay, the day its entry was made for (its slot day);
 * the next exit ends it, when it comes before the later of the end of the
 * entry's local day and ATT_STAY_AFTER_MS after the stay's day's last slot.
 * Else the stay has no exit, and so it does when an entry made for a later
 * day comes first (a day slot's forgotten exit: the next morning's arrival
 * begins a new stay). A second entry while in, or an exit while out,
 * changes nothing. sp has room for 3 * nsc spans. Returns how many stays
 * were written to st (room for nev). */
static size_t build_stays(const rows_ctx *cx, const store_schedule *sc, size_t nsc,
                          const store_event *ev, size_t nev, int64_t (*sp)[2], stay *st)
{
    size_t n = 0;
    stay *cur = NULL; /* the open stay */
    int64_t limit = 0;
    for (size_t i = 0; i < nev; i++) {
        const store_event *e = &ev[i];
        bool entry = !strcmp(e->kind, "entry");
        int64_t eday;
        if (att_parse_day(e->slot_day, &eday)) eday = local_day(cx->tz, e->ts_ms);
        if (cur && (e->ts_ms > limit || (entry && eday > cur->day))) cur = NULL; /* no exit */
        if (entry && !cur) {
            cur = &st[n++];
            int64_t last = day_last_end(cx, sc, nsc, eday, sp);
            *cur = (stay){.in_ms = e->ts_ms,
                          .entry = e,
                          .day = eday,
                          .reach = last > e->ts_ms ? last : e->ts_ms};
            limit = att_tz_utc(cx->tz, local_day(cx->tz, e->ts_ms) + 1, 0);
            if (last != INT64_MIN && last + ATT_STAY_AFTER_MS > limit)
                limit = last + ATT_STAY_AFTER_MS;
        } else if (!entry && cur) {
            cur->out_ms = cur->reach = e->ts_ms;
            cur->exit = e;
            cur = NULL;
        }
    }
    /* Missing its exit: none, once its day's last slot (for a stay that
     * reached none, its local day) ended more than the margin ago. */
    for (size_t i = 0; i < n; i++) {
        if (st[i].out_ms) continue;
        int64_t due = st[i].reach > st[i].in_ms
                          ? st[i].reach
                          : att_tz_utc(cx->tz, local_day(cx->tz, st[i].in_ms) + 1, 0);
        st[i].missing = cx->now_ms > due + cx->margin_ms;
    }
    return n;
}

/* The part of [from, to) outside every slot of days day-1 .. day+1 (a
 * stay may run into the next day's slots, or begin in the day before's
 * night slot). */
static int64_t outside_slots(const rows_ctx *cx, const store_schedule *sc, size_t nsc, int64_t day,
                             int64_t from, int64_t to, int64_t (*sp)[2])
{
    if (to <= from) return 0;
    size_t n = 0;
    for (int64_t d = day - 1; d <= day + 1; d++) n += day_spans(cx, sc, nsc, d, sp + n);
    /* Walk [from, to) and drop what any span covers. */
    int64_t out = 0, at = from;
    while (at < to) {
        int64_t cover = at; /* how far the spans holding `at` reach */
        for (bool grew = true; grew;) {
            grew = false;
            for (size_t i = 0; i < n; i++)
                if (sp[i][0] <= cover && sp[i][1] > cover) {
                    cover = sp[i][1];
                    grew = true;
                }
        }
        if (cover > at) {
            at = cover;
            continue;
        }
        int64_t next = to; /* the next span to begin */
        for (size_t i = 0; i < n; i++)
            if (sp[i][0] > at && sp[i][0] < next) next = sp[i][0];
        out += next - at;
        at = next;
    }
    return out;
}

/* The overtime of stay y, on site until `end` (att_row.overtime_ms): its
 * time outside every slot after its day's last slot ends and, when it
 * began more than the margin before its day's first slot, before that; on
 * a day without slots (a rest day, a holiday) all of it for a person with
 * a timetable. */
static int64_t overtime(const rows_ctx *cx, const store_schedule *sc, size_t nsc, const stay *y,
                        int64_t end, int64_t (*sp)[2])
{
    size_t n = day_spans(cx, sc, nsc, y->day, sp);
    if (!n) return nsc ? outside_slots(cx, sc, nsc, y->day, y->in_ms, end, sp) : 0;
    int64_t first = INT64_MAX, last = INT64_MIN, ot = 0;
    for (size_t i = 0; i < n; i++) {
        if (sp[i][0] < first) first = sp[i][0];
        if (sp[i][1] > last) last = sp[i][1];
    }
    if (y->in_ms < first - cx->margin_ms)
        ot += outside_slots(cx, sc, nsc, y->day, y->in_ms, end < first ? end : first, sp);
    if (end > last)
        ot += outside_slots(cx, sc, nsc, y->day, y->in_ms > last ? y->in_ms : last, end, sp);
    return ot;
}

/* The row a stay's figures go on: the row of the slot its entry was made
 * for, else its day's row outside any slot; NULL when neither is in the
 * report. */
static att_row *stay_row(att_row *rows, size_t n, const stay *s)
{
    char ds[11];
    att_day_string(s->day, ds);
    for (size_t i = 0; i < n; i++)
        if (s->entry->schedule_id && rows[i].schedule_id == s->entry->schedule_id &&
            !strcmp(rows[i].day, s->entry->slot_day))
            return &rows[i];
    for (size_t i = 0; i < n; i++)
        if (!rows[i].schedule_id && !strcmp(rows[i].day, ds)) return &rows[i];
    return NULL;
}

static rc_status person_rows(store *s, const att_tz *tz, const store_person *p, const rows_ctx *cx,
                             vec *rows, att_person_summary *sum, rc_error *err)
{
    store_schedule *sc = NULL;
    size_t nsc = 0;
    store_event *ev = NULL;
    size_t nev = 0;
    store_membership *mem = NULL;
    size_t nmem = 0;
    bool by_day = cx->presence == ATT_PRESENCE_DAY, time_by_row = !by_day || cx->label;
    /* By day, a stay may begin the day before the range (a night shift's)
     * or end the day after, and an event's slot may be on the day before or
     * after its own. */
    char from[11], to[11];
    att_day_string(by_day ? cx->d0 - 1 : cx->d0, from);
    att_day_string(by_day ? cx->d1 + 1 : cx->d1, to);
    /* Every group they have been in, each judged on the days they were. */
    rc_status st = store_schedules_for_person_history(s, p->id, &sc, &nsc, err);
    if (st == RC_OK) st = store_memberships_history(s, p->id, &mem, &nmem, err);
    if (st == RC_OK) st = clip_to_memberships(cx, &sc, &nsc, mem, nmem, err);
    if (st == RC_OK) st = person_events(s, p->id, from, to, &ev, &nev, err);
    /* The voided events that were corrected go apart, only to mark their
     * rows; the rest keep their time order. One query for both. */
    store_event *fix = NULL;
    size_t nfix = 0, nkept = 0;
    for (size_t i = 0; st == RC_OK && i < nev; i++) {
        if (!ev[i].voided_ms) {
            ev[nkept++] = ev[i];
        } else if (ev[i].corrected_ms) {
            store_event *nf = realloc(fix, (nfix + 1) * sizeof *fix);
            if (!nf)
                st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
            else
                (fix = nf)[nfix++] = ev[i];
        }
    }
    nev = nkept;
    size_t first_row = rows->n;
    size_t cap = nev ? nev : 1;
    store_event **pick = st == RC_OK ? malloc(cap * sizeof *pick) : NULL;
    char *used = st == RC_OK ? calloc(cap, 1) : NULL;
    int64_t(*spans)[2] = st == RC_OK && by_day ? malloc((3 * nsc + 1) * sizeof *spans) : NULL;
    stay *stays = st == RC_OK && by_day ? malloc(cap * sizeof *stays) : NULL;
    if (st == RC_OK && (!pick || !used || (by_day && (!spans || !stays))))
        st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
    size_t nst = st == RC_OK && by_day ? build_stays(cx, sc, nsc, ev, nev, spans, stays) : 0;
    size_t nmine_l = 0;
    const store_leave *mine_l = leaves_of(cx, p->id, &nmine_l);
    sum->person_id = p->id;
    memcpy(sum->external_id, p->external_id, sizeof sum->external_id);
    memcpy(sum->name, p->name, sizeof sum->name);
    for (int64_t day = cx->d0; st == RC_OK && day <= cx->d1; day++) {
        char ds[11];
        att_day_string(day, ds);
        int wd = att_weekday(day);
        int holiday = is_holiday(cx->hol, cx->nhol, ds);
        const store_leave *on_leave = holiday ? NULL : leave_on(mine_l, nmine_l, ds);
        for (size_t k = 0; k < nsc && !holiday; k++) {
            /* The slots in force that day: a timetable changed later
             * leaves the day judged by the one it had. */
            if (sc[k].dow != wd || !store_schedule_valid_on(&sc[k], ds)) continue;
            int64_t start_ms = att_tz_utc(tz, day, sc[k].start_min);
            int64_t end_ms = sc[k].end_min > sc[k].start_min
                                 ? att_tz_utc(tz, day, sc[k].end_min)
                                 : att_tz_utc(tz, day + 1, sc[k].end_min);
            if (cx->label && strcmp(sc[k].label, cx->label) != 0) continue;
            att_row *r = day_row(rows, p, ds);
            if (!r) {
                st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
                break;
            }
            r->schedule_id = sc[k].id;
            r->group_id = sc[k].group_id;
            memcpy(r->label, sc[k].label, sizeof r->label);
            r->start_ms = start_ms;
            r->end_ms = end_ms;
            size_t m = 0;
            const store_event *first = NULL, *last_exit = NULL;
            for (size_t i = 0; i < nev; i++) {
                if (used[i] || strcmp(ev[i].slot_day, ds) || ev[i].schedule_id != sc[k].id)
                    continue;
                used[i] = 1;
                pick[m++] = &ev[i];
                if (!strcmp(ev[i].kind, "entry") && !first) first = &ev[i];
                if (!strcmp(ev[i].kind, "exit")) last_exit = &ev[i];
            }
            day_slot dsl = {.r = r,
                            .grace_min = sc[k].grace_min,
                            .schedule_id = sc[k].id,
                            .day = ds,
                            .now_ms = cx->now_ms};
            bool present = by_day ? judge_day(&dsl, stays, nst, first) : first != NULL;
            /* Another group's slot, not asked for: its events are taken,
             * no row. Not counted (before the person or the institution
             * started, before joining the slot's group, from the archive
             * day on): no row unless they came. */
            if (!slot_shown(cx->q, sc[k].group_id) ||
                (!present &&
                 (day < slot_counts_from(cx, &sc[k], mem, nmem) || day >= cx->count_until))) {
                rows->n--;
                continue;
            }
            if (by_day)
                r->events = (int)m;
            else
                fill_times(r, pick, m);
            sum->slots++;
            /* Part of a day's leave touches some of the day's slots only. */
            int64_t lf = 0, lt = 0, grace_ms = (int64_t)sc[k].grace_min * 60000;
            int touch = leave_touch(tz, on_leave, day, start_ms, end_ms, &lf, &lt);
            if (touch) snprintf(r->leave_kind, sizeof r->leave_kind, "%s", on_leave->kind);
            if (present) {
                if (!by_day) {
                    r->present = 1;
                    r->late = !strcmp(first->status, "late");
                    r->early_leave = last_exit && !strcmp(last_exit->status, "early_leave");
                    if (r->late && first->ts_ms > start_ms)
                        r->minutes_late = (int)((first->ts_ms - start_ms) / 60000);
                    if (r->early_leave && last_exit->ts_ms < end_ms)
                        r->minutes_early_leave = (int)((end_ms - last_exit->ts_ms) / 60000);
                }
                leave_excuses(r, touch, lf, lt, grace_ms);
                snprintf(r->status, sizeof r->status, r->late ? "late" : "present");
            } else if ((touch & LEAVE_WHOLE) == LEAVE_WHOLE) { /* known ahead: never absent */
                r->leave = 1;
                snprintf(r->status, sizeof r->status, "leave");
            } else if (((touch & LEAVE_START) ? lt : r->start_ms) + grace_ms <= cx->now_ms) {
                r->absent = 1;
                snprintf(r->status, sizeof r->status, "absent");
            } else {
                snprintf(r->status, sizeof r->status, "pending");
            }
            sum->present += r->present;
            sum->late += r->late;
            sum->early_leave += r->early_leave;
            sum->absent += r->absent;
            sum->minutes_late += r->minutes_late;
            sum->minutes_early_leave += r->minutes_early_leave;
            add_leave(sum, r);
            add_times(sum, r, time_by_row);
        }
        /* Whatever is left on this day happened outside any slot. */
        size_t m = 0;
        for (size_t i = 0; st == RC_OK && i < nev; i++) {
            if (used[i] || strcmp(ev[i].slot_day, ds)) continue;
            used[i] = 1;
            pick[m++] = &ev[i];
        }
        if (st == RC_OK && m && !cx->label) {
            att_row *r = day_row(rows, p, ds);
            if (!r) {
                st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
                break;
            }
            snprintf(r->status, sizeof r->status, "outside");
            r->present = 1;
            fill_times(r, pick, m);
            /* By day its time is outside every slot (outside_ms, below). */
            if (by_day) r->on_site_ms = 0;
            sum->days_outside++;
            add_times(sum, r, time_by_row);
        }
    }
    att_row *mine = (att_row *)rows->items + first_row;
    size_t nmine = rows->n - first_row;
    /* By day, the person's time on site is that of the stays begun in the
     * range (one with no exit counts up to the end of its day's last slot,
     * or now), and the part of it outside every slot goes on the row of the
     * slot its entry was made for; for one subject, the time in its slots.
     * A stay with no exit marks the last slot it reached (or its day's row
     * outside any slot). */
    for (size_t i = 0; st == RC_OK && i < nst; i++) {
        const stay *y = &stays[i];
        if (y->day < cx->d0 || y->day > cx->d1) continue;
        if (!time_by_row) {
            int64_t end = stay_end(y, cx->now_ms);
            int64_t out = outside_slots(cx, sc, nsc, y->day, y->in_ms, end, spans);
            int64_t ot = overtime(cx, sc, nsc, y, end, spans);
            sum->on_site_ms += end - y->in_ms;
            sum->outside_ms += out;
            sum->overtime_ms += ot;
            att_row *r = stay_row(mine, nmine, y);
            if (r) r->outside_ms += out;
            if (r) r->overtime_ms += ot;
        }
        if (!y->missing) continue;
        att_row *last = NULL;
        for (size_t k = 0; k < nmine; k++)
            if (mine[k].schedule_id && mine[k].present && mine[k].start_ms < y->reach &&
                mine[k].end_ms > y->in_ms && (!last || mine[k].end_ms > last->end_ms))
                last = &mine[k];
        if (!last) {
            char ds[11];
            att_day_string(y->day, ds);
            for (size_t k = 0; k < nmine && !last; k++)
                if (!mine[k].schedule_id && !strcmp(mine[k].day, ds)) last = &mine[k];
        }
        if (last && !last->missing_exit) {
            last->missing_exit = 1;
            sum->missing_exits++;
        }
    }
    /* The rows whose events someone corrected or voided say so. */
    for (size_t i = 0; st == RC_OK && i < nev; i++)
        mark_corrected(mine, rows->n - first_row, &ev[i]);
    for (size_t i = 0; st == RC_OK && i < nfix; i++)
        mark_corrected(mine, rows->n - first_row, &fix[i]);
    for (size_t i = 0; st == RC_OK && i < rows->n - first_row; i++)
        if (mine[i].corrected_ms)
            att_actor_name(s, mine[i].corrected_by, mine[i].corrected_by,
                           sizeof mine[i].corrected_by);
    free(fix);
    free(stays);
    free(spans);
    free(pick);
    free(used);
    free(ev);
    free(mem);
    free(sc);
    return st;
}

static int cmp_group_id(const void *a, const void *b)
{
    int64_t x = (*(att_group_summary *const *)a)->group_id,
            y = (*(att_group_summary *const *)b)->group_id;
    return x < y ? -1 : x > y;
}

static rc_status group_summaries(store *s, const att_query *q, att_report *out, rc_error *err)
{
    store_group *g = NULL;
    size_t ng = 0;
    rc_status st;
    if (q->group_id) {
        g = malloc(sizeof *g);
        if (!g) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        st = store_group_get(s, q->group_id, g, err);
        ng = 1;
    } else {
        st = store_group_list(s, (store_page){.limit = 10000}, &g, &ng, NULL, err);
    }
    if (st == RC_OK && ng) {
        out->groups = calloc(ng, sizeof *out->groups);
        if (!out->groups) st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; st == RC_OK && i < ng; i++) {
        if (!slot_shown(q, g[i].id)) continue;
        att_group_summary *gs = &out->groups[out->ngroups++];
        gs->group_id = g[i].id;
        memcpy(gs->name, g[i].name, sizeof gs->name);
        int64_t *ids = NULL;
        size_t nid = 0;
        st = store_group_members(s, g[i].id, &ids, &nid, err);
        for (size_t k = 0; st == RC_OK && k < nid; k++)
            for (size_t p = 0; p < out->npeople; p++)
                gs->members += out->people[p].person_id == ids[k];
        free(ids);
    }
    free(g);
    /* Each group's own slots: a member's other groups and own schedules
     * count for those, not here. */
    att_group_summary **by_id =
        st == RC_OK && out->ngroups ? malloc(out->ngroups * sizeof *by_id) : NULL;
    if (st == RC_OK && out->ngroups && !by_id) st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
    if (by_id) {
        for (size_t i = 0; i < out->ngroups; i++) by_id[i] = &out->groups[i];
        qsort(by_id, out->ngroups, sizeof *by_id, cmp_group_id);
    }
    for (size_t k = 0; by_id && k < out->nrows; k++) {
        const att_row *row = &out->rows[k];
        if (!row->schedule_id || !row->group_id) continue;
        att_group_summary key = {.group_id = row->group_id}, *kp = &key;
        att_group_summary **hit = bsearch(&kp, by_id, out->ngroups, sizeof *by_id, cmp_group_id);
        if (!hit) continue;
        att_group_summary *gs = *hit;
        gs->slots++;
        gs->present += row->present;
        gs->late += row->late;
        gs->early_leave += row->early_leave;
        gs->absent += row->absent;
        gs->leave += row->leave;
    }
    free(by_id);
    for (size_t i = 0; i < out->ngroups; i++) {
        att_group_summary *gs = &out->groups[i];
        int judged = gs->present + gs->absent;
        gs->present_rate = judged ? (double)gs->present / judged : 0;
        gs->late_rate = gs->present ? (double)gs->late / gs->present : 0;
    }
    return st;
}

rc_status att_report_build(att *a, const att_query *q, att_report *out, rc_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t d0, d1;
    if (!q || att_parse_day(q->from_day, &d0) || att_parse_day(q->to_day, &d1))
        return rc_fail(err, RC_ERR_INVALID, "report dates must be YYYY-MM-DD (got '%s' to '%s')",
                       q && q->from_day ? q->from_day : "", q && q->to_day ? q->to_day : "");
    if (d1 < d0)
        return rc_fail(err, RC_ERR_INVALID, "report ends (%s) before it starts (%s)", q->to_day,
                       q->from_day);
    if (d1 - d0 + 1 > REPORT_MAX_DAYS)
        return rc_fail(err, RC_ERR_LIMIT, "a report covers at most %d days; split the range",
                       REPORT_MAX_DAYS);
    store *s = att_store_of(a);
    att_config cfg;
    att_get_config(a, &cfg);
    att_tz *tz = NULL; /* our own copy: att_reload may replace the engine's */
    rc_status st = att_tz_load(cfg.timezone, &tz, err);
    if (st != RC_OK) return st;
    snprintf(out->from_day, sizeof out->from_day, "%s", q->from_day);
    snprintf(out->to_day, sizeof out->to_day, "%s", q->to_day);
    snprintf(out->timezone, sizeof out->timezone, "%s", att_tz_name(tz));

    store_person *people = NULL;
    size_t np = 0;
    if (q->person_id) {
        people = malloc(sizeof *people);
        if (!people)
            st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
        else
            st = store_person_get(s, q->person_id, people, err);
        np = st == RC_OK;
    } else {
        /* Archived people too: their history before the archive day counts. */
        /* And a group's former members, while the range holds a day they
         * were in it (a membership ends the day before it was left). */
        store_person_filter f = {.group_id = q->group_id,
                                 .left_after_ms = att_tz_utc(tz, d0 + 1, 0) - 1};
        st = store_person_list(s, &f, (store_page){.limit = 10000}, &people, &np, NULL, err);
    }
    store_holiday *hol = NULL;
    size_t nhol = 0;
    /* The days around the range too: a stay may begin the day before or
     * reach the day after. */
    char hol_from[11], hol_to[11];
    att_day_string(d0 - 1, hol_from);
    att_day_string(d1 + 1, hol_to);
    if (st == RC_OK) st = store_holiday_list(s, hol_from, hol_to, &hol, &nhol, err);
    store_leave *leaves = NULL;
    size_t nleaves = 0;
    if (st == RC_OK)
        st = store_leave_list(s, q->person_id, q->from_day, q->to_day, &leaves, &nleaves, err);
    if (st == RC_OK && np) {
        out->people = calloc(np, sizeof *out->people);
        if (!out->people) st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    vec rows = {.elem = sizeof(att_row)};
    rows_ctx cx = {.d0 = d0,
                   .d1 = d1,
                   .from = q->from_day,
                   .to = q->to_day,
                   .hol = hol,
                   .nhol = nhol,
                   .leaves = leaves,
                   .nleaves = nleaves,
                   .label = q->label && *q->label ? q->label : NULL,
                   .q = q,
                   .now_ms = q->now_ms,
                   .tz = tz,
                   .presence = cfg.presence,
                   .margin_ms = (int64_t)cfg.slot_margin_min * 60000};
    int64_t inst_from = INT64_MIN;
    if (st == RC_OK) st = att_start_day(a, tz, &inst_from, err);
    for (size_t i = 0; st == RC_OK && i < np; i++) {
        int64_t added = people[i].created_ms > 0 ? local_day(tz, people[i].created_ms) : INT64_MIN;
        cx.count_from = added > inst_from ? added : inst_from;
        cx.count_until =
            people[i].archived_ms > 0 ? local_day(tz, people[i].archived_ms) : INT64_MAX;
        /* Archived before the range: nothing of theirs in it counts. */
        if (!q->person_id && cx.count_until < d0) continue;
        if (q->scoped && q->persons && !rc_sorted_has(q->persons, q->npersons, people[i].id))
            continue;
        st = person_rows(s, tz, &people[i], &cx, &rows, &out->people[out->npeople], err);
        if (st == RC_OK) out->npeople++;
    }
    out->rows = rows.items;
    out->nrows = rows.n;
    if (st == RC_OK) st = group_summaries(s, q, out, err);
    free(people);
    free(hol);
    free(leaves);
    att_tz_free(tz);
    if (st != RC_OK) att_report_free(out);
    return st;
}

/* Per person and day, the row flags that make the day's figures. */
typedef struct {
    int slot, present, late, early_leave, absent, leave;
} day_flags;

static void add_person_day(att_day *d, const day_flags *f)
{
    if (!f->slot) return;
    d->expected++;
    if (f->present) {
        d->present++;
        d->late += f->late;
        d->early_leave += f->early_leave;
    } else if (f->absent) {
        d->absent++;
    } else if (f->leave) {
        d->leave++;
    } else {
        d->pending++;
    }
}

static int cmp_day(const void *a, const void *b)
{
    return strcmp(((const att_day *)a)->day, ((const att_day *)b)->day);
}

rc_status att_report_days(const att_report *r, att_day **out, size_t *n, rc_error *err)
{
    *out = NULL;
    *n = 0;
    vec days = {.elem = sizeof(att_day)};
    /* Rows come per person, then day: a run of rows with the same person
     * and day is that person's day. */
    for (size_t i = 0; i < r->nrows;) {
        const att_row *first = &r->rows[i];
        day_flags f = {0};
        for (; i < r->nrows && r->rows[i].person_id == first->person_id &&
               !strcmp(r->rows[i].day, first->day);
             i++) {
            const att_row *row = &r->rows[i];
            if (!row->schedule_id) continue; /* outside any slot: not judged */
            f.slot = 1;
            f.present |= row->present;
            f.late |= row->late;
            f.early_leave |= row->early_leave;
            f.absent |= row->absent;
            f.leave |= row->leave;
        }
        if (!f.slot) continue;
        att_day *d = NULL;
        for (size_t k = 0; k < days.n && !d; k++)
            if (!strcmp(((att_day *)days.items)[k].day, first->day)) d = (att_day *)days.items + k;
        if (!d) {
            d = vec_push(&days);
            if (!d) {
                free(days.items);
                return rc_fail(err, RC_ERR_NOMEM, "out of memory");
            }
            memcpy(d->day, first->day, sizeof d->day);
        }
        add_person_day(d, &f);
    }
    att_day *ds = days.items;
    for (size_t k = 0; k < days.n; k++) {
        int judged = ds[k].present + ds[k].absent;
        ds[k].rate = judged ? (double)ds[k].present / judged : -1;
    }
    if (days.n) qsort(ds, days.n, sizeof *ds, cmp_day);
    *out = ds;
    *n = days.n;
    return RC_OK;
}

void att_report_keep_absent(att_report *r, const char *day)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i].absent && (!day || !strcmp(r->rows[i].day, day))) r->rows[k++] = r->rows[i];
    r->nrows = k;
}

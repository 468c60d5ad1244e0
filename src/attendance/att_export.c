/*
 * att_export.c — a report as CSV (RFC 4180) or as an XLSX workbook
 * (libxlsxwriter) with a "Summary" sheet (per person, then per group) and a
 * "Detail" sheet (one row per person and slot). Times are shown in the
 * report's time zone. Text that a spreadsheet would take for a formula
 * (starting with = + - @, or with a tab or carriage return, which some
 * spreadsheets skip before looking for one) is prefixed with an apostrophe in CSV and written
 * as a plain string in XLSX, so a name like "=HYPERLINK(...)" stays a name.
 * Headers, sheet names and status words come in the reader's language
 * (English column names for scripts, or Spanish); a Spanish CSV uses ';' and
 * starts with a UTF-8 byte-order mark, which Spanish Excel needs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

#include "att.h"

/* The words of one language: detail, person-summary and group-summary
 * headers, sheet names, the title and the status values. */
typedef struct {
    const char *lang;
    const char *detail[18];
    const char *by; /* "2026-12-06 13:05 by Marta" */
    const char *person[16];
    const char *group[10];
    const char *summary_sheet, *detail_sheet;
    const char *status[5][2];             /* report status → word */
    const char *leave[STORE_LEAVE_KINDS]; /* status "leave" by store_leave_kinds[] */
} words;

static const words EN = {
    "en",
    {"day", "external_id", "name", "slot", "start", "end", "status", "late", "early_leave",
     "first_entry", "last_exit", "minutes_on_site", "corrected", "minutes_outside_slots",
     "missing_exit", "minutes_late", "minutes_early_leave", "overtime_minutes"},
    "by",
    {"external_id", "name", "slots", "present", "late", "early_leave", "absent", "present_rate",
     "hours_on_site", "hours_in_slots", "hours_outside_slots", "missing_exits", "leave",
     "minutes_late", "minutes_early_leave", "overtime_minutes"},
    {"group", "members", "slots", "present", "late", "early_leave", "absent", "present_rate",
     "late_rate", "leave"},
    "Summary",
    "Detail",
    {{"present", "present"},
     {"late", "late"},
     {"absent", "absent"},
     {"pending", "pending"},
     {"outside", "outside"}},
    {"sick leave", "vacation", "personal leave", "justified absence", "other leave"},
};

static const words ES = {
    "es",
    {"Día", "Código", "Nombre", "Franja", "Inicio", "Fin", "Estado", "Tarde", "Salida anticipada",
     "Primera entrada", "Última salida", "Minutos en la franja", "Corregido",
     "Minutos fuera de horario", "Falta la salida", "Minutos de retraso",
     "Minutos de salida anticipada", "Minutos de horas extra"},
    "por",
    {"Código", "Nombre", "Franjas", "Presente", "Tarde", "Salida anticipada", "Ausente",
     "% presente", "Horas en el centro", "Horas en franjas", "Horas fuera de horario",
     "Falta la salida", "Ausencia justificada", "Minutos de retraso",
     "Minutos de salida anticipada", "Minutos de horas extra"},
    {"Grupo", "Miembros", "Franjas", "Presente", "Tarde", "Salida anticipada", "Ausente",
     "% presente", "% tarde", "Ausencia justificada"},
    "Resumen",
    "Detalle",
    {{"present", "presente"},
     {"late", "tarde"},
     {"absent", "ausente"},
     {"pending", "pendiente"},
     {"outside", "fuera de horario"}},
    {"Baja médica", "Vacaciones", "Permiso", "Justificada", "Otra"},
};

#define NDETAIL     (sizeof EN.detail / sizeof EN.detail[0])
#define DETAIL_CELL 192 /* a detail cell's text: a name (127 bytes) and a time */

static const words *words_for(const att_export_opts *opt)
{
    return opt && opt->lang && strcmp(opt->lang, "es") == 0 ? &ES : &EN;
}

static const char *status_word(const words *w, const char *status)
{
    for (size_t i = 0; i < sizeof w->status / sizeof w->status[0]; i++)
        if (strcmp(w->status[i][0], status) == 0) return w->status[i][1];
    return status;
}

static const char *row_status_word(const words *w, const att_row *r)
{
    for (int k = 0; r->leave && k < STORE_LEAVE_KINDS; k++)
        if (!strcmp(r->leave_kind, store_leave_kinds[k])) return w->leave[k];
    return status_word(w, r->status);
}

rc_status att_export_parse(const char *lang, const char *sep, const char *bom, att_export_opts *out,
                           rc_error *err)
{
    if (!lang || !*lang || strcmp(lang, "en") == 0)
        *out = (att_export_opts){.lang = "en", .separator = ',', .bom = 0};
    else if (strcmp(lang, "es") == 0)
        *out = (att_export_opts){.lang = "es", .separator = ';', .bom = 1};
    else
        return rc_fail(err, RC_ERR_INVALID, "language '%s' is not en or es", lang);
    if (sep && *sep) {
        if (!strcmp(sep, "comma") || !strcmp(sep, ","))
            out->separator = ',';
        else if (!strcmp(sep, "semicolon") || !strcmp(sep, ";"))
            out->separator = ';';
        else if (!strcmp(sep, "tab") || !strcmp(sep, "\t"))
            out->separator = '\t';
        else
            return rc_fail(err, RC_ERR_INVALID, "separator '%s' is not comma, semicolon or tab",
                           sep);
    }
    if (bom && *bom) {
        if (!strcmp(bom, "1") || !strcmp(bom, "true"))
            out->bom = 1;
        else if (!strcmp(bom, "0") || !strcmp(bom, "false"))
            out->bom = 0;
        else
            return rc_fail(err, RC_ERR_INVALID, "bom '%s' is not true or false", bom);
    }
    return RC_OK;
}

/* Local "HH:MM", or "YYYY-MM-DD HH:MM" when on another day than `day`. */
static void local_time(const att_tz *tz, int64_t ms, const char *day, char *buf, size_t cap)
{
    if (!ms) {
        buf[0] = 0;
        return;
    }
    att_local L;
    att_tz_local(tz, ms, &L);
    char ds[11];
    att_day_string(L.days, ds);
    if (strcmp(ds, day) == 0)
        snprintf(buf, cap, "%02d:%02d", L.hour, L.minute);
    else
        snprintf(buf, cap, "%s %02d:%02d", ds, L.hour, L.minute);
}

static void csv_cell(FILE *out, const char *s, char sep, int last)
{
    int formula = s[0] && strchr("=+-@\t\r", s[0]) != NULL;
    int quote = formula || strchr(s, sep) || strpbrk(s, ",;\t\"\r\n") != NULL;
    if (quote) fputc('"', out);
    if (formula) fputc('\'', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', out);
        fputc(*p, out);
    }
    if (quote) fputc('"', out);
    if (last)
        fputs("\r\n", out);
    else
        fputc(sep, out);
}

/* The detail columns of one row as text. */
static void row_cells(const att_row *r, const att_tz *tz, const words *w,
                      char cells[NDETAIL][DETAIL_CELL])
{
    snprintf(cells[0], 160, "%s", r->day);
    snprintf(cells[1], 160, "%s", r->external_id);
    snprintf(cells[2], 160, "%s", r->name);
    snprintf(cells[3], 160, "%s", r->schedule_id ? r->label : "");
    local_time(tz, r->start_ms, r->day, cells[4], 160);
    local_time(tz, r->end_ms, r->day, cells[5], 160);
    snprintf(cells[6], 160, "%s", row_status_word(w, r));
    snprintf(cells[7], 160, "%d", r->late);
    snprintf(cells[8], 160, "%d", r->early_leave);
    local_time(tz, r->first_entry_ms, r->day, cells[9], 160);
    local_time(tz, r->last_exit_ms, r->day, cells[10], 160);
    snprintf(cells[11], 160, "%lld", (long long)(r->on_site_ms / 60000));
    /* Corrected: when (a full local date and time) and by whom. */
    cells[12][0] = 0;
    if (r->corrected_ms) {
        char when[32];
        local_time(tz, r->corrected_ms, "", when, sizeof when);
        snprintf(cells[12], DETAIL_CELL, "%s %s %s", when, w->by, r->corrected_by);
    }
    /* Added after the first thirteen, so scripts reading those by position
     * read on: the stays' time outside every slot, and a missing exit. */
    snprintf(cells[13], 160, "%lld", (long long)(r->outside_ms / 60000));
    snprintf(cells[14], 160, "%d", r->missing_exit);
    /* Then what payroll reads (att_row): whole minutes. */
    snprintf(cells[15], 160, "%d", r->minutes_late);
    snprintf(cells[16], 160, "%d", r->minutes_early_leave);
    snprintf(cells[17], 160, "%lld", (long long)(r->overtime_ms / 60000));
}

rc_status att_export_csv(const att_report *r, const att_tz *tz, const att_export_opts *opt,
                         FILE *out, rc_error *err)
{
    const words *w = words_for(opt);
    char sep = opt && opt->separator ? opt->separator : ',';
    if (sep != ',' && sep != ';' && sep != '\t')
        return rc_fail(err, RC_ERR_INVALID, "the CSV separator must be ',', ';' or a tab");
    if (opt && opt->bom) fputs("\xEF\xBB\xBF", out);
    for (size_t i = 0; i < NDETAIL; i++) csv_cell(out, w->detail[i], sep, i + 1 == NDETAIL);
    char cells[NDETAIL][DETAIL_CELL];
    for (size_t k = 0; k < r->nrows; k++) {
        row_cells(&r->rows[k], tz, w, cells);
        for (size_t i = 0; i < NDETAIL; i++) csv_cell(out, cells[i], sep, i + 1 == NDETAIL);
    }
    if (fflush(out) != 0 || ferror(out))
        return rc_fail(err, RC_ERR_IO, "could not write the CSV export (disk full?)");
    return RC_OK;
}

/* The number formats of the detail sheet's dates and times: Excel keeps the
 * value (sortable, filterable, usable in arithmetic) and shows it so. */
typedef struct {
    lxw_format *date, *time, *date_time;
} xlsx_formats;

/* A detail cell that is a day ("YYYY-MM-DD"), a time ("HH:MM") or a time
 * on another day ("YYYY-MM-DD HH:MM") written as an Excel date or time;
 * returns false for any other text (written as it is). */
static bool write_when(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *cell,
                       const xlsx_formats *f)
{
    int y, mo, d, h, mi, used = 0;
    if (sscanf(cell, "%4d-%2d-%2d%n", &y, &mo, &d, &used) == 3 && !cell[used]) {
        lxw_datetime dt = {y, mo, d, 0, 0, 0};
        return worksheet_write_datetime(ws, row, col, &dt, f->date) == LXW_NO_ERROR;
    }
    if (sscanf(cell, "%4d-%2d-%2d %2d:%2d%n", &y, &mo, &d, &h, &mi, &used) == 5 && !cell[used]) {
        lxw_datetime dt = {y, mo, d, h, mi, 0};
        return worksheet_write_datetime(ws, row, col, &dt, f->date_time) == LXW_NO_ERROR;
    }
    if (sscanf(cell, "%2d:%2d%n", &h, &mi, &used) == 2 && !cell[used] && used == 5)
        return worksheet_write_number(ws, row, col, (h * 60 + mi) / 1440.0, f->time) ==
               LXW_NO_ERROR;
    return false;
}

rc_status att_export_xlsx(const att_report *r, const att_tz *tz, const att_export_opts *opt,
                          const char *path, rc_error *err)
{
    const words *w = words_for(opt);
    /* constant_memory streams rows to disk and writes strings inline. */
    /* Check the path first: a clear message instead of the library's. */
    FILE *probe = fopen(path, "wb");
    if (!probe) return rc_fail(err, RC_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    fclose(probe);
    lxw_workbook_options wopt = {.constant_memory = LXW_TRUE};
    lxw_workbook *wb = workbook_new_opt(path, &wopt);
    if (!wb) return rc_fail(err, RC_ERR_IO, "cannot create workbook %s", path);
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    lxw_format *pct = workbook_add_format(wb);
    format_set_num_format(pct, "0.0%");
    /* Hours on site with two decimals (7.43, shown as 7,43 by a Spanish
     * Excel), not the 7.433333333 a bare number shows. */
    lxw_format *hours = workbook_add_format(wb);
    format_set_num_format(hours, "0.00");
    /* Dates as a Spanish reader writes them (the value is the same). */
    xlsx_formats when = {workbook_add_format(wb), workbook_add_format(wb), workbook_add_format(wb)};
    format_set_num_format(when.date, w == &ES ? "dd/mm/yyyy" : "yyyy-mm-dd");
    format_set_num_format(when.time, "hh:mm");
    format_set_num_format(when.date_time, w == &ES ? "dd/mm/yyyy hh:mm" : "yyyy-mm-dd hh:mm");
    lxw_worksheet *sum = workbook_add_worksheet(wb, w->summary_sheet);
    lxw_worksheet *det = workbook_add_worksheet(wb, w->detail_sheet);

    char title[200];
    if (w == &ES)
        snprintf(title, sizeof title, "Asistencia del %s al %s (%s)", r->from_day, r->to_day,
                 r->timezone);
    else
        snprintf(title, sizeof title, "Attendance %s to %s (%s)", r->from_day, r->to_day,
                 r->timezone);
    worksheet_write_string(sum, 0, 0, title, bold);
    lxw_row_t row = 2;
    for (lxw_col_t c = 0; c < 16; c++) worksheet_write_string(sum, row, c, w->person[c], bold);
    for (size_t i = 0; i < r->npeople; i++) {
        const att_person_summary *p = &r->people[i];
        row++;
        worksheet_write_string(sum, row, 0, p->external_id, NULL);
        worksheet_write_string(sum, row, 1, p->name, NULL);
        worksheet_write_number(sum, row, 2, p->slots, NULL);
        worksheet_write_number(sum, row, 3, p->present, NULL);
        worksheet_write_number(sum, row, 4, p->late, NULL);
        worksheet_write_number(sum, row, 5, p->early_leave, NULL);
        worksheet_write_number(sum, row, 6, p->absent, NULL);
        int judged = p->present + p->absent;
        worksheet_write_number(sum, row, 7, judged ? (double)p->present / judged : 0, pct);
        worksheet_write_number(sum, row, 8, p->on_site_ms / 3600000.0, hours);
        /* Time on site = in slots + outside them (overtime candidates). */
        worksheet_write_number(sum, row, 9, (p->on_site_ms - p->outside_ms) / 3600000.0, hours);
        worksheet_write_number(sum, row, 10, p->outside_ms / 3600000.0, hours);
        worksheet_write_number(sum, row, 11, p->missing_exits, NULL);
        worksheet_write_number(sum, row, 12, p->leave, NULL);
        worksheet_write_number(sum, row, 13, p->minutes_late, NULL);
        worksheet_write_number(sum, row, 14, p->minutes_early_leave, NULL);
        worksheet_write_number(sum, row, 15, (double)(p->overtime_ms / 60000), NULL);
    }
    row += 2;
    for (lxw_col_t c = 0; c < 10; c++) worksheet_write_string(sum, row, c, w->group[c], bold);
    for (size_t i = 0; i < r->ngroups; i++) {
        const att_group_summary *g = &r->groups[i];
        row++;
        worksheet_write_string(sum, row, 0, g->name, NULL);
        worksheet_write_number(sum, row, 1, g->members, NULL);
        worksheet_write_number(sum, row, 2, g->slots, NULL);
        worksheet_write_number(sum, row, 3, g->present, NULL);
        worksheet_write_number(sum, row, 4, g->late, NULL);
        worksheet_write_number(sum, row, 5, g->early_leave, NULL);
        worksheet_write_number(sum, row, 6, g->absent, NULL);
        worksheet_write_number(sum, row, 7, g->present_rate, pct);
        worksheet_write_number(sum, row, 8, g->late_rate, pct);
        worksheet_write_number(sum, row, 9, g->leave, NULL);
    }

    for (lxw_col_t c = 0; c < NDETAIL; c++) worksheet_write_string(det, 0, c, w->detail[c], bold);
    char cells[NDETAIL][DETAIL_CELL];
    for (size_t k = 0; k < r->nrows; k++) {
        row_cells(&r->rows[k], tz, w, cells);
        for (lxw_col_t c = 0; c < NDETAIL; c++) {
            lxw_row_t at = (lxw_row_t)(k + 1);
            bool when_col = c == 0 || c == 4 || c == 5 || c == 9 || c == 10;
            if (c == 7 || c == 8 || c == 11 || c >= 13)
                worksheet_write_number(det, at, c, strtod(cells[c], NULL), NULL);
            else if (cells[c][0] && !(when_col && write_when(det, at, c, cells[c], &when)))
                worksheet_write_string(det, at, c, cells[c], NULL);
        }
    }
    lxw_error e = workbook_close(wb);
    if (e != LXW_NO_ERROR)
        return rc_fail(err, RC_ERR_IO, "cannot write workbook %s: %s", path, lxw_strerror(e));
    return RC_OK;
}

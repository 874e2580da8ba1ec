/* Foreign EDF/EDF+/BDF/BDF+ fixtures for the reader's tests, written by EDFlib (Teunis van Beelen, Debian's
   libedf-dev), not by our code. Built at test time:

       gcc -O1 -std=c11 -Wall -o make_files make_files.c -ledf -lm
       ./make_files OUTDIR

   For each fixture NAME.{edf,bdf} it also writes what was intended, so the tests compare readers with the truth:
     NAME.json        header as set (labels, units, physical/digital ranges, samples per record, record duration,
                      record count, record onsets) and the annotations written (onset s, duration s or null, UTF-8 text);
     NAME.s<k>.i32    the digital samples of ordinary signal k (annotation signals not counted), little-endian int32.
   The intended physical value of a digital d is the EDF formula (d - dmin) * (pmax - pmin) / (dmax - dmin) + pmin.

   Everything is deterministic: one splitmix64 generator seeded per file and signal (SEED below), no clock.

   Four fixtures are NOT written by EDFlib, because its writer cannot produce them (libedf 1.23):
     g_discontinuous_edfplusd.edf        EDFlib always writes "EDF+C"/"BDF+C" with records back to back: it has no way
                                   to set a record's onset, so no EDF+D with a gap;
     i_annotations_not_last_edfplus.edf  EDFlib always puts the annotation signal(s) after the ordinary signals;
     j_plain_bdf.bdf, j_plain_edf.edf    edfopen_file_writeonly accepts only EDF+ and BDF+ (plain: -7, FILETYPE_ERROR).
   Those four are written by write_by_hand() below, byte by byte from the EDF+ specification (Kemp & Olivan 2003,
   sections 2.1-2.3: header fields, "EDF Annotations" signal, time-keeping TAL first in each record). The tests
   check that EDFlib's strict reader and MNE both accept them. */
#include <edflib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED 0x45444621u /* "EDF!" */
#define MAXSIG 32
#define MAXANN 8
#define MAXREC 64

enum kind { SEMG, RAMP_EDGES, ACCEL, TRIGGER, SLOW };
enum writer { BY_EDFLIB, BY_HAND };

typedef struct {
    const char *label, *unit;
    double pmin, pmax;
    int dmin, dmax, spr; /* samples per record */
    enum kind kind;
    double per_mv; /* physical units per millivolt for SEMG (1000 for uV, 1 for mV, 0.001 for V) */
} Sig;

typedef struct {
    long long onset, duration; /* 100 us units (EDFlib's); duration < 0 = none */
    const char *text;
} Ann;

typedef struct {
    const char *name;         /* file name */
    int filetype;             /* EDFLIB_FILETYPE_* */
    enum writer writer;
    int duration_10us;        /* record duration in 10 us units (EDFlib's edf_set_datarecord_duration) */
    int records;
    int nsig;
    Sig sig[MAXSIG];
    int nann;
    Ann ann[MAXANN];
    int annot_position;       /* BY_HAND: index of the "EDF Annotations" signal among all signals */
    int annot_spr;            /* BY_HAND: its samples per record */
    long long onset_100us[MAXREC]; /* BY_HAND: each record's onset (EDF+D gaps) */
    int discontinuous;
} Variant;

/* ---------------------------------------------------------------- deterministic data */

static uint64_t rng_state;

static uint64_t splitmix64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(void) { return ((splitmix64() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

static double gaussian(void) { return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform()); }

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* Physical waveform of one signal, n samples at fs Hz. */
static void synthesize(const Sig *s, double fs, int n, double *x)
{
    const double pi = 3.141592653589793;
    switch (s->kind) {
    case SEMG: {
        /* Band-limited noise (difference of one-pole low-passes near 400 Hz and 25 Hz, then scaled) in bursts of
           1 s every 2 s with raised-cosine 100 ms edges; burst amplitudes 0.05-1 mV RMS; a 5 uV floor and
           20 uV of 50 Hz hum, so the notch and the RMS envelope both have something to do. */
        double a_hi = exp(-2 * pi * 400.0 / fs), a_lo = exp(-2 * pi * 25.0 / fs), y_hi = 0, y_lo = 0;
        /* variance of y_hi - y_lo for unit white input: var_hi + var_lo - 2 cov, one-pole (1-a)/(1+a) each */
        double var = (1 - a_hi) / (1 + a_hi) + (1 - a_lo) / (1 + a_lo) - 2 * (1 - a_hi) * (1 - a_lo) / (1 - a_hi * a_lo);
        double unit = 1 / sqrt(var);
        double amps[] = {0.05, 0.4, 1.0, 0.2, 0.7, 0.1};
        for (int i = 0; i < n; i++) {
            double g = gaussian();
            y_hi = a_hi * y_hi + (1 - a_hi) * g;
            y_lo = a_lo * y_lo + (1 - a_lo) * g;
            double band = (y_hi - y_lo) * unit; /* unit RMS at any rate */
            double t = i / fs, phase = fmod(t, 2.0);
            int burst = (int)(t / 2.0);
            double env = 0;
            if (phase >= 0.5 && phase < 1.5) {
                double edge = fmin(phase - 0.5, 1.5 - phase);
                env = edge >= 0.1 ? 1.0 : 0.5 - 0.5 * cos(pi * edge / 0.1);
            }
            double mv = env * amps[burst % 6] * band + 0.005 * gaussian() + 0.02 * sin(2 * pi * 50.0 * t);
            x[i] = mv * s->per_mv;
        }
        break;
    }
    case RAMP_EDGES: /* noise over the whole range, plus the exact extremes and zero early on */
        for (int i = 0; i < n; i++) x[i] = s->pmin + (s->pmax - s->pmin) * uniform();
        if (n > 3) { x[0] = s->pmin; x[1] = s->pmax; x[2] = 0.0; }
        break;
    case ACCEL: /* gravity plus a slow sway, in g */
        for (int i = 0; i < n; i++) x[i] = 0.98 + 0.3 * sin(2 * pi * 0.7 * i / fs) + 0.02 * gaussian();
        break;
    case TRIGGER: /* 0/1 pulses of 50 ms at pseudo-random times */
        for (int i = 0; i < n; i++) x[i] = 0;
        for (int p = 0; p < n / (int)fs + 1; p++) {
            int start = (int)(uniform() * n);
            for (int i = start; i < n && i < start + (int)(0.05 * fs) + 1; i++) x[i] = 1;
        }
        break;
    case SLOW: /* a mid-range sine plus noise, for the many-signal file */
        for (int i = 0; i < n; i++)
            x[i] = 0.25 * (s->pmax - s->pmin) * sin(2 * pi * 3.0 * i / fs) + 0.01 * (s->pmax - s->pmin) * gaussian();
        break;
    }
}

static int to_digital(const Sig *s, double x)
{
    double d = (x - s->pmin) / (s->pmax - s->pmin) * ((double)s->dmax - s->dmin) + s->dmin;
    long v = lround(d);
    if (v < s->dmin) v = s->dmin;
    if (v > s->dmax) v = s->dmax;
    return (int)v;
}

/* ---------------------------------------------------------------- helpers */

static void die(const char *what, const char *name, int code)
{
    fprintf(stderr, "make_files: %s failed for %s (%d)\n", what, name, code);
    exit(1);
}

static int is_bdf(int filetype) { return filetype == EDFLIB_FILETYPE_BDF || filetype == EDFLIB_FILETYPE_BDFPLUS; }
static int is_plus(int filetype) { return filetype == EDFLIB_FILETYPE_EDFPLUS || filetype == EDFLIB_FILETYPE_BDFPLUS; }

/* 100 us units as EDF+ TAL text: "+2.3456", "-0.5", "+10" (no exponent, no trailing zeros) */
static void tal_time(long long t, int sign, char *out)
{
    long long a = t < 0 ? -t : t;
    char frac[8] = "";
    if (a % 10000) {
        snprintf(frac, sizeof frac, ".%04lld", a % 10000);
        for (int k = (int)strlen(frac) - 1; frac[k] == '0'; k--) frac[k] = 0;
    }
    sprintf(out, "%s%lld%s", sign ? (t < 0 ? "-" : "+") : "", a / 10000, frac);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void add(Variant *v, const char *label, const char *unit, double pmin, double pmax, int dmin, int dmax,
                int spr, enum kind kind, double per_mv)
{
    Sig s = {label, unit, pmin, pmax, dmin, dmax, spr, kind, per_mv};
    v->sig[v->nsig++] = s;
}

static void annotate(Variant *v, double onset_s, double duration_s, const char *text)
{
    Ann a = {llround(onset_s * 10000), duration_s < 0 ? -1 : llround(duration_s * 10000), text};
    v->ann[v->nann++] = a;
}

/* ---------------------------------------------------------------- writers */

static void put_field(FILE *f, const char *text, int width)
{
    char buf[96];
    snprintf(buf, sizeof buf, "%-*s", width, text);
    if ((int)strlen(text) > width) { fprintf(stderr, "field '%s' wider than %d\n", text, width); exit(1); }
    fwrite(buf, 1, width, f);
}

static void put_number(FILE *f, double value, int width)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.10g", value);
    put_field(f, buf, width);
}

/* EDF, EDF+, BDF or BDF+ by hand, for what EDFlib cannot write: record onsets with gaps (EDF+D), the annotation
   signal anywhere, plain EDF and BDF (EDFlib 1.23's writer returns EDFLIB_FILETYPE_ERROR for them). */
static void write_by_hand(const Variant *v, const char *path, int **digital)
{
    FILE *f = fopen(path, "wb");
    if (!f) die("fopen", path, 0);
    int plus = is_plus(v->filetype), bdf = is_bdf(v->filetype), bps = bdf ? 3 : 2;
    int ns = v->nsig + (plus ? 1 : 0), apos = plus ? v->annot_position : 1 << 30;
    char num[32];
    if (bdf) { fputc(0xff, f); fwrite("BIOSEMI", 1, 7, f); }
    else put_field(f, "0", 8);
    put_field(f, plus ? "X X X X" : "Foreign fixture, plain file", 80);
    put_field(f, plus ? "Startdate 02-DEC-2026 X X make_files.c_by_hand" : "Startdate 02-DEC-2026 make_files.c by hand", 80);
    put_field(f, "02.12.26", 8);
    put_field(f, "10.00.00", 8);
    snprintf(num, sizeof num, "%d", 256 * (ns + 1));
    put_field(f, num, 8);
    put_field(f, plus ? (bdf ? (v->discontinuous ? "BDF+D" : "BDF+C") : (v->discontinuous ? "EDF+D" : "EDF+C")) : (bdf ? "24BIT" : ""), 44);
    snprintf(num, sizeof num, "%d", v->records);
    put_field(f, num, 8);
    put_number(f, v->duration_10us / 100000.0, 8);
    snprintf(num, sizeof num, "%d", ns);
    put_field(f, num, 4);
    /* k runs over all signals in file order; the ordinary signal is sig[k < apos ? k : k - 1] */
#define ORD(k) (&v->sig[(k) < apos ? (k) : (k) - 1])
    int dlo = bdf ? -8388608 : -32768, dhi = bdf ? 8388607 : 32767;
    for (int k = 0; k < ns; k++) put_field(f, k == apos ? (bdf ? "BDF Annotations" : "EDF Annotations") : ORD(k)->label, 16);
    for (int k = 0; k < ns; k++) put_field(f, k == apos ? "" : "AgAgCl electrode", 80);
    for (int k = 0; k < ns; k++) put_field(f, k == apos ? "" : ORD(k)->unit, 8);
    for (int k = 0; k < ns; k++) put_number(f, k == apos ? -1 : ORD(k)->pmin, 8);
    for (int k = 0; k < ns; k++) put_number(f, k == apos ? 1 : ORD(k)->pmax, 8);
    for (int k = 0; k < ns; k++) put_number(f, k == apos ? dlo : ORD(k)->dmin, 8);
    for (int k = 0; k < ns; k++) put_number(f, k == apos ? dhi : ORD(k)->dmax, 8);
    for (int k = 0; k < ns; k++) put_field(f, k == apos ? "" : "HP:10Hz LP:500Hz", 80);
    for (int k = 0; k < ns; k++) put_number(f, k == apos ? v->annot_spr : ORD(k)->spr, 8);
    for (int k = 0; k < ns; k++) put_field(f, "", 32);
    for (int r = 0; r < v->records; r++) {
        for (int k = 0; k < ns; k++) {
            if (k == apos) {
                char tal[1024] = "", t[32], d[32];
                int len = 0;
                tal_time(v->onset_100us[r], 1, t);
                len += sprintf(tal + len, "%s\x14\x14", t); /* time-keeping TAL: onset of this record */
                tal[len++] = 0;
                for (int a = 0; a < v->nann; a++) {
                    /* each annotation goes in the record that contains its onset (the last one before it) */
                    int home = 0;
                    for (int q = 0; q < v->records; q++) if (v->onset_100us[q] <= v->ann[a].onset) home = q;
                    if (home != r) continue;
                    tal_time(v->ann[a].onset, 1, t);
                    len += sprintf(tal + len, "%s", t);
                    if (v->ann[a].duration >= 0) { tal_time(v->ann[a].duration, 0, d); len += sprintf(tal + len, "\x15%s", d); }
                    len += sprintf(tal + len, "\x14%s\x14", v->ann[a].text);
                    tal[len++] = 0;
                }
                if (len > bps * v->annot_spr) die("annotation signal too small", path, len);
                for (int b = 0; b < bps * v->annot_spr; b++) fputc(b < len ? tal[b] : 0, f);
            } else {
                int s = k < apos ? k : k - 1;
                for (int i = 0; i < v->sig[s].spr; i++) {
                    int d = digital[s][r * v->sig[s].spr + i];
                    for (int b = 0; b < bps; b++) fputc((d >> (8 * b)) & 0xff, f);
                }
            }
        }
    }
#undef ORD
    if (fclose(f)) die("fclose", path, 0);
}

/* EDFlib 1.23 writes the physical minimum and maximum by truncating decimal digits (3276.7, stored as
   3276.69999999999982, becomes "3276.699"; -1000.3 becomes "-1000.29"): hand it the next double away from zero,
   whose first digits are the intended ones, and check the header text afterwards. */
static double away_from_zero(double x) { return x == 0 ? 0 : nextafter(x, x > 0 ? INFINITY : -INFINITY); }

static void write_by_edflib(const Variant *v, const char *path, int **digital)
{
    int h = edfopen_file_writeonly(path, v->filetype, v->nsig), rc;
    if (h < 0) die("edfopen_file_writeonly", path, h);
    if (v->duration_10us != 100000 && (rc = edf_set_datarecord_duration(h, v->duration_10us))) die("edf_set_datarecord_duration", path, rc);
    for (int s = 0; s < v->nsig; s++) {
        const Sig *g = &v->sig[s];
        if (edf_set_samplefrequency(h, s, g->spr) || edf_set_physical_maximum(h, s, away_from_zero(g->pmax)) ||
            edf_set_physical_minimum(h, s, away_from_zero(g->pmin)) || edf_set_digital_maximum(h, s, g->dmax) ||
            edf_set_digital_minimum(h, s, g->dmin) || edf_set_label(h, s, g->label) ||
            edf_set_physical_dimension(h, s, g->unit) || edf_set_transducer(h, s, "AgAgCl electrode") ||
            edf_set_prefilter(h, s, "HP:10Hz LP:500Hz"))
            die("edf_set_* (signal parameters)", path, s);
    }
    if (edf_set_startdatetime(h, 2026, 12, 2, 10, 0, 0)) die("edf_set_startdatetime", path, 0);
    if (is_plus(v->filetype)) {
        if (edf_set_patientcode(h, "FOREIGN-01") || edf_set_equipment(h, "EDFlib make_files.c"))
            die("edf_set_patientcode/equipment", path, 0);
    }
    for (int r = 0; r < v->records; r++)
        for (int s = 0; s < v->nsig; s++)
            if ((rc = edfwrite_digital_samples(h, digital[s] + (size_t)r * v->sig[s].spr))) die("edfwrite_digital_samples", path, rc);
    for (int a = 0; a < v->nann; a++)
        if (strlen(v->ann[a].text) > 40) die("annotation longer than EDFlib's writer keeps (40 bytes)", v->ann[a].text, 0);
    for (int a = 0; a < v->nann; a++)
        if ((rc = edfwrite_annotation_utf8(h, v->ann[a].onset, v->ann[a].duration, v->ann[a].text))) die("edfwrite_annotation_utf8", path, rc);
    if ((rc = edfclose_file(h))) die("edfclose_file", path, rc);

    /* What EDFlib put in the header must be what was asked for, or the sidecar would lie. */
    FILE *f = fopen(path, "rb");
    char hdr[256 * (MAXSIG + 2)], field[9];
    int ns;
    if (!f || fread(hdr, 1, 256, f) != 256) die("re-reading the header of", path, 0);
    memcpy(field, hdr + 252, 4); field[4] = 0; ns = atoi(field);
    if (fread(hdr + 256, 1, 256 * ns, f) != (size_t)(256 * ns)) die("re-reading the signal headers of", path, ns);
    fclose(f);
    for (int s = 0; s < v->nsig; s++) {
        double back[2];
        for (int m = 0; m < 2; m++) { /* physical minimum at 104 x ns, maximum at 112 x ns, past the 256-byte header */
            memcpy(field, hdr + 256 + (104 + 8 * m) * ns + 8 * s, 8); field[8] = 0;
            back[m] = strtod(field, NULL);
        }
        if (back[0] != v->sig[s].pmin || back[1] != v->sig[s].pmax) die("EDFlib's physical range text", path, s);
    }
}

static void write_variant(Variant *v, const char *dir)
{
    char path[4096], side[4096];
    int *digital[MAXSIG];
    double fs_record = v->duration_10us / 100000.0;
    if (v->writer == BY_EDFLIB || !v->discontinuous)
        for (int r = 0; r < v->records; r++) v->onset_100us[r] = (long long)r * v->duration_10us / 10;
    for (int s = 0; s < v->nsig; s++) {
        const Sig *g = &v->sig[s];
        int n = g->spr * v->records;
        double *x = malloc(sizeof(double) * n);
        digital[s] = malloc(sizeof(int) * n);
        rng_state = SEED ^ hash_name(v->name) ^ (0x100000001ull * (uint64_t)(s + 1));
        synthesize(g, g->spr / fs_record, n, x);
        for (int i = 0; i < n; i++) digital[s][i] = to_digital(g, x[i]);
        free(x);
        snprintf(side, sizeof side, "%s/%.*s.s%d.i32", dir, (int)(strrchr(v->name, '.') - v->name), v->name, s);
        FILE *f = fopen(side, "wb");
        if (!f) die("fopen", side, 0);
        for (int i = 0; i < n; i++) {
            uint32_t u = (uint32_t)digital[s][i];
            unsigned char b[4] = {u & 0xff, (u >> 8) & 0xff, (u >> 16) & 0xff, u >> 24};
            fwrite(b, 1, 4, f);
        }
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/%s", dir, v->name);
    if (v->writer == BY_EDFLIB) write_by_edflib(v, path, digital);
    else write_by_hand(v, path, digital);

    snprintf(side, sizeof side, "%s/%.*s.json", dir, (int)(strrchr(v->name, '.') - v->name), v->name);
    FILE *f = fopen(side, "w");
    if (!f) die("fopen", side, 0);
    static const char *types[] = {"EDF", "EDF+", "BDF", "BDF+"};
    fprintf(f, "{\"file\": \"%s\", \"filetype\": \"%s\", \"written_by\": \"%s\", \"seed\": %u,\n", v->name,
            types[v->filetype], v->writer == BY_EDFLIB ? "EDFlib" : "make_files.c by hand", SEED);
    fprintf(f, " \"record_duration\": %.10g, \"records\": %d, \"discontinuous\": %s,\n \"record_onsets\": [",
            fs_record, v->records, v->discontinuous ? "true" : "false");
    for (int r = 0; r < v->records; r++) fprintf(f, "%s%.4f", r ? ", " : "", v->onset_100us[r] / 10000.0);
    fprintf(f, "],\n \"annotation_signal_index\": %d,\n \"signals\": [\n",
            !is_plus(v->filetype) ? -1 : v->writer == BY_HAND ? v->annot_position : v->nsig);
    for (int s = 0; s < v->nsig; s++) {
        const Sig *g = &v->sig[s];
        fprintf(f, "  {\"label\": ");
        json_string(f, g->label);
        fprintf(f, ", \"unit\": ");
        json_string(f, g->unit);
        fprintf(f, ", \"physical_min\": %.17g, \"physical_max\": %.17g, \"digital_min\": %d, \"digital_max\": %d, "
                   "\"samples_per_record\": %d, \"sample_rate\": %.10g, \"samples\": %d, \"digital\": \"%.*s.s%d.i32\"}%s\n",
                g->pmin, g->pmax, g->dmin, g->dmax, g->spr, g->spr / fs_record, g->spr * v->records,
                (int)(strrchr(v->name, '.') - v->name), v->name, s, s + 1 < v->nsig ? "," : "");
    }
    fprintf(f, " ],\n \"annotations\": [");
    for (int a = 0; a < v->nann; a++) {
        fprintf(f, "%s\n  {\"onset\": %.4f, \"duration\": ", a ? "," : "", v->ann[a].onset / 10000.0);
        if (v->ann[a].duration < 0) fprintf(f, "null");
        else fprintf(f, "%.4f", v->ann[a].duration / 10000.0);
        fprintf(f, ", \"text\": ");
        json_string(f, v->ann[a].text);
        fprintf(f, "}");
    }
    fprintf(f, "]}\n");
    fclose(f);
    for (int s = 0; s < v->nsig; s++) free(digital[s]);
    printf("%s\n", v->name);
}

/* ---------------------------------------------------------------- the fixtures */

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: %s OUTDIR\n", argv[0]); return 2; }
    const char *dir = argv[1];
    static Variant v;
    static char labels[24][17];

    /* a. EDF+, signed 16-bit range, 3 sEMG-like signals in uV at 1000 Hz, 6 s; the third covers the whole range
          (first samples at exactly dmin, dmax, 0) */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "a_signed_edfplus.edf", .filetype = EDFLIB_FILETYPE_EDFPLUS, .duration_10us = 100000, .records = 6};
    add(&v, "EMG Biceps", "uV", -3276.8, 3276.7, -32768, 32767, 1000, SEMG, 1000);
    add(&v, "EMG Triceps", "uV", -3276.8, 3276.7, -32768, 32767, 1000, SEMG, 1000);
    add(&v, "EMG Range", "uV", -3276.8, 3276.7, -32768, 32767, 1000, RAMP_EDGES, 1000);
    annotate(&v, 0.5, 1.0, "contraction 1");
    annotate(&v, 2.5, 1.0, "contraction 2");
    write_variant(&v, dir);

    /* b. BDF+, 24 signals (BioSemi-like 24-bit ranges: 1/32 uV per step), 256 Hz, 4 s */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "b_24_signals_bdfplus.bdf", .filetype = EDFLIB_FILETYPE_BDFPLUS, .duration_10us = 100000, .records = 4};
    for (int s = 0; s < 24; s++) {
        snprintf(labels[s], sizeof labels[s], "EMG%02d", s + 1);
        if (s % 3 == 0) add(&v, labels[s], "uV", -262144, 262143, -8388608, 8388607, 256, SEMG, 1000);
        else if (s % 3 == 1) add(&v, labels[s], "uV", -262144, 262143, -8388608, 8388607, 256, SLOW, 1);
        else add(&v, labels[s], "uV", -262144, 262143, -8388608, 8388607, 256, RAMP_EDGES, 1);
    }
    annotate(&v, 1.25, -1, "start task");
    write_variant(&v, dir);

    /* c. EDF+, mixed rates: 2048 Hz EMG (uV), 512 Hz EMG (uV), 3 accelerometer axes at 32 Hz in g, and a
          0/1 trigger at 512 Hz whose unit is empty; 3 s */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "c_mixed_rates_edfplus.edf", .filetype = EDFLIB_FILETYPE_EDFPLUS, .duration_10us = 100000, .records = 3};
    add(&v, "EMG Fast", "uV", -5000, 5000, -32768, 32767, 2048, SEMG, 1000);
    add(&v, "EMG Slow", "uV", -5000, 5000, -32768, 32767, 512, SEMG, 1000);
    add(&v, "Acc X", "g", -8, 8, -32768, 32767, 32, ACCEL, 1);
    add(&v, "Acc Y", "g", -8, 8, -32768, 32767, 32, ACCEL, 1);
    add(&v, "Acc Z", "g", -8, 8, -32768, 32767, 32, ACCEL, 1);
    add(&v, "Trigger", "", 0, 1, 0, 1, 512, TRIGGER, 1);
    annotate(&v, 0.75, 0.5, "stimulus");
    write_variant(&v, dir);

    /* d1. EDF+, 0.5 s records: 1000 Hz (500 samples per record) and 250 Hz, 8 records = 4 s */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "d_half_second_records_edfplus.edf", .filetype = EDFLIB_FILETYPE_EDFPLUS, .duration_10us = 50000, .records = 8};
    add(&v, "EMG 1k", "uV", -2000, 2000, -32768, 32767, 500, SEMG, 1000);
    add(&v, "EMG 250", "uV", -2000, 2000, -32768, 32767, 125, SEMG, 1000);
    annotate(&v, 1.75, 0.25, "half-second record boundary");
    write_variant(&v, dir);

    /* d2. BDF+, 10 s records: 200 Hz (2000 samples per record) and 5 Hz, 3 records = 30 s */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "d_ten_second_records_bdfplus.bdf", .filetype = EDFLIB_FILETYPE_BDFPLUS, .duration_10us = 1000000, .records = 3};
    add(&v, "EMG 200", "uV", -100000, 100000, -8388608, 8388607, 2000, SEMG, 1000);
    add(&v, "Slow 5Hz", "uV", -100000, 100000, -8388608, 8388607, 50, SLOW, 1);
    annotate(&v, 12.3456, 4.5, "inside record 2");
    write_variant(&v, dir);

    /* e1. EDF+, sEMG in mV: 2000 Hz, 2 channels, 8 s, bursts of 0.05-1 mV (amplitudes 0.05, 0.4, 1.0, 0.2 at
           0.5-1.5 s, 2.5-3.5 s, ...), 20 uV of 50 Hz hum; range +-5 mV (0.15 uV per step) */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "e_semg_millivolts_edfplus.edf", .filetype = EDFLIB_FILETYPE_EDFPLUS, .duration_10us = 100000, .records = 8};
    add(&v, "EMG Flexor", "mV", -5, 5, -32768, 32767, 2000, SEMG, 1);
    add(&v, "EMG Extensor", "mV", -5, 5, -32768, 32767, 2000, SEMG, 1);
    write_variant(&v, dir);

    /* e2. BDF+, the same kind of sEMG in V: 1000 Hz, 6 s, range +-0.05 V */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "e_semg_volts_bdfplus.bdf", .filetype = EDFLIB_FILETYPE_BDFPLUS, .duration_10us = 100000, .records = 6};
    add(&v, "EMG Volts", "V", -0.05, 0.05, -8388608, 8388607, 1000, SEMG, 0.001);
    write_variant(&v, dir);

    /* f. EDF+, 0 off a whole count: physical -1000.3..999.1 uV over -32768..32767, so 0 uV is digital 25.9...,
          and the first samples of "Offset Range" are dmin, dmax and the digital nearest 0 */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "f_zero_between_counts_edfplus.edf", .filetype = EDFLIB_FILETYPE_EDFPLUS, .duration_10us = 100000, .records = 3};
    add(&v, "EMG Offset", "uV", -1000.3, 999.1, -32768, 32767, 1000, SEMG, 1000);
    add(&v, "Offset Range", "uV", -1000.3, 999.1, -32768, 32767, 1000, RAMP_EDGES, 1);
    write_variant(&v, dir);

    /* g. EDF+D by hand (EDFlib cannot): 256 Hz, 1 s records at 0, 1, 2, then 5, 6 s (a 2 s gap), 7.5 s (0.5 s gap) */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "g_discontinuous_edfplusd.edf", .filetype = EDFLIB_FILETYPE_EDFPLUS, .writer = BY_HAND,
                  .duration_10us = 100000, .records = 6, .discontinuous = 1, .annot_spr = 60,
                  .onset_100us = {0, 10000, 20000, 50000, 60000, 75000}};
    v.annot_position = 2;
    add(&v, "EMG A", "uV", -3276.8, 3276.7, -32768, 32767, 256, SEMG, 1000);
    add(&v, "EMG B", "uV", -3276.8, 3276.7, -32768, 32767, 256, RAMP_EDGES, 1);
    annotate(&v, 1.5, 0.25, "before the gap");
    annotate(&v, 5.125, -1, "after the gap");
    write_variant(&v, dir);

    /* h. EDF+, UTF-8 annotations with and without duration, fractional onsets, one at 0. EDFlib's writer keeps
          at most 40 bytes of each annotation (it silently cut a longer one): every text here is shorter. */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "h_utf8_annotations_edfplus.edf", .filetype = EDFLIB_FILETYPE_EDFPLUS, .duration_10us = 100000, .records = 5};
    add(&v, "EMG Neck", "uV", -3276.8, 3276.7, -32768, 32767, 1000, SEMG, 1000);
    annotate(&v, 0, -1, "recording start");
    annotate(&v, 0.5, 1.5, "Sensory trick — ✓ Ünïcödé");
    annotate(&v, 2.0001, -1, "✓ Ünïcödé, no duration");
    annotate(&v, 3.25, 0.75, "Torticollis 旋转 μV ± 5%");
    write_variant(&v, dir);

    /* i. EDF+C by hand (EDFlib cannot): the annotation signal in the middle, between signals of different rates */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "i_annotations_not_last_edfplus.edf", .filetype = EDFLIB_FILETYPE_EDFPLUS, .writer = BY_HAND,
                  .duration_10us = 100000, .records = 4, .annot_spr = 50};
    v.annot_position = 1;
    add(&v, "EMG Left", "uV", -3276.8, 3276.7, -32768, 32767, 1000, SEMG, 1000);
    add(&v, "EMG Right", "uV", -3276.8, 3276.7, -32768, 32767, 500, SEMG, 1000);
    annotate(&v, 0.25, 0.5, "left first");
    annotate(&v, 2.75, -1, "right after");
    write_variant(&v, dir);

    /* j1. plain BDF by hand (EDFlib 1.23 writes only EDF+/BDF+): 24-bit, no annotation signal, reserved "24BIT"
           as BioSemi writes it; 4 signals at 512 Hz and 64 Hz, 3 s; "Status" as BioSemi names its trigger */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "j_plain_bdf.bdf", .filetype = EDFLIB_FILETYPE_BDF, .writer = BY_HAND, .duration_10us = 100000, .records = 3};
    add(&v, "EMG 1", "uV", -262144, 262143, -8388608, 8388607, 512, SEMG, 1000);
    add(&v, "EMG 2", "uV", -262144, 262143, -8388608, 8388607, 512, RAMP_EDGES, 1);
    add(&v, "Status", "Boolean", -8388608, 8388607, -8388608, 8388607, 512, TRIGGER, 1);
    add(&v, "Acc", "g", -4, 4, -8388608, 8388607, 64, ACCEL, 1);
    write_variant(&v, dir);

    /* j2. plain EDF by hand (16-bit, reserved field blank): 2 signals, 1000 Hz, uV and mV, 3 s */
    memset(&v, 0, sizeof v);
    v = (Variant){.name = "j_plain_edf.edf", .filetype = EDFLIB_FILETYPE_EDF, .writer = BY_HAND, .duration_10us = 100000, .records = 3};
    add(&v, "EMG 1", "uV", -3276.8, 3276.7, -32768, 32767, 1000, SEMG, 1000);
    add(&v, "EMG 2", "mV", -3.2768, 3.2767, -32768, 32767, 1000, SEMG, 1);
    write_variant(&v, dir);
    return 0;
}

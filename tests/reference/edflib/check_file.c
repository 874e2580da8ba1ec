/* Opens one EDF/EDF+/BDF/BDF+ file with EDFlib's reader (edfopen_file_readonly), which refuses files that break the
   (E|B)DF(+) rules, and prints what it read as JSON on stdout. Exit 1 and a message on stderr if EDFlib refuses.

       gcc -O1 -std=c11 -Wall -o check_file check_file.c -ledf
       ./check_file FILE [OUTDIR]

   With OUTDIR, the digital samples of each ordinary signal k (EDFlib's numbering: annotation signals left out)
   are written to OUTDIR/<k>.i32, little-endian int32, read with edfread_digital_samples. Annotation onsets and
   durations are printed in seconds (EDFlib keeps them in 100 ns units); duration null when the TAL has none. */
#include <edflib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_string(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ') n--; /* EDF pads fields with spaces */
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    static struct edf_hdr_struct hdr;
    static const char *types[] = {"EDF", "EDF+", "BDF", "BDF+"};
    if (argc < 2 || argc > 3) { fprintf(stderr, "usage: %s FILE [OUTDIR]\n", argv[0]); return 2; }
    if (edfopen_file_readonly(argv[1], &hdr, EDFLIB_READ_ALL_ANNOTATIONS) < 0) {
        fprintf(stderr, "EDFlib refused %s: error %d (edflib.h: -1 malloc, -2 no such file, -3 file contains format "
                        "errors, -4 max files, -5 file read error, -6 already opened, -7 filetype error, -8 unsupported "
                        "file version, -9 invalid number of signals, -10 file is discontinuous, -11 invalid read annotations "
                        "value, -12 arch error)\n", argv[1], hdr.filetype);
        return 1;
    }
    printf("{\"filetype\": \"%s\", \"signals\": %d, \"records\": %lld, \"record_duration\": %.10g, "
           "\"file_duration\": %.10g,\n \"signal\": [\n",
           hdr.filetype >= 0 && hdr.filetype <= 3 ? types[hdr.filetype] : "?", hdr.edfsignals,
           (long long)hdr.datarecords_in_file, hdr.datarecord_duration / 1e7, hdr.file_duration / 1e7);
    for (int s = 0; s < hdr.edfsignals; s++) {
        struct edf_param_struct *p = &hdr.signalparam[s];
        long long n = p->smp_in_file;
        int *buf = malloc(sizeof(int) * (n > 0 ? n : 1));
        int got = edfread_digital_samples(hdr.handle, s, (int)n, buf);
        if (got != n) { fprintf(stderr, "edfread_digital_samples: %d of %lld for signal %d\n", got, n, s); return 1; }
        if (argc == 3) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%d.i32", argv[2], s);
            FILE *f = fopen(path, "wb");
            if (!f) { perror(path); return 1; }
            for (long long i = 0; i < n; i++) {
                uint32_t u = (uint32_t)buf[i];
                unsigned char b[4] = {u & 0xff, (u >> 8) & 0xff, (u >> 16) & 0xff, u >> 24};
                fwrite(b, 1, 4, f);
            }
            fclose(f);
        }
        free(buf);
        printf("  {\"label\": ");
        json_string(p->label);
        printf(", \"unit\": ");
        json_string(p->physdimension);
        printf(", \"physical_min\": %.17g, \"physical_max\": %.17g, \"digital_min\": %d, \"digital_max\": %d, "
               "\"samples_per_record\": %d, \"samples\": %lld}%s\n",
               p->phys_min, p->phys_max, p->dig_min, p->dig_max, p->smp_in_datarecord, n, s + 1 < hdr.edfsignals ? "," : "");
    }
    printf(" ],\n \"annotations\": [");
    for (long long i = 0; i < hdr.annotations_in_file; i++) {
        struct edf_annotation_struct a;
        if (edf_get_annotation(hdr.handle, (int)i, &a)) { fprintf(stderr, "edf_get_annotation %lld failed\n", i); return 1; }
        printf("%s\n  {\"onset\": %.7f, \"duration\": ", i ? "," : "", a.onset / 1e7);
        if (a.duration[0] == 0) printf("null");
        else printf("%.7f", a.duration_l / 1e7);
        printf(", \"text\": ");
        json_string(a.annotation);
        printf("}");
    }
    printf("]}\n");
    edfclose_file(hdr.handle);
    return 0;
}

/* Reads a BDF+ file with EDFlib (Teunis van Beelen), which rejects files that break the EDF+/BDF+ rules, and
   prints one line per fact for the tests: filetype, signals, labels, rates, physical samples, annotations. */
#include <stdio.h>
#include <stdlib.h>
#include <edflib.h>

int main(int argc, char **argv)
{
    struct edf_hdr_struct hdr;
    if (argc < 2) return 2;
    if (edfopen_file_readonly(argv[1], &hdr, EDFLIB_READ_ALL_ANNOTATIONS) < 0) {
        printf("error %d\n", hdr.filetype);
        return 1;
    }
    printf("filetype %d\n", hdr.filetype);
    printf("signals %d\n", hdr.edfsignals);
    printf("records %lld\n", (long long)hdr.datarecords_in_file);
    printf("patient_code %s\n", hdr.patientcode);
    printf("equipment %s\n", hdr.equipment);
    printf("admincode %s\n", hdr.admincode);
    for (int s = 0; s < hdr.edfsignals; s++) {
        long long n = hdr.signalparam[s].smp_in_file;
        double *buf = malloc(sizeof(double) * (n > 0 ? n : 1));
        int got = edfread_physical_samples(hdr.handle, s, (int)n, buf);
        printf("signal %d|%s|%lld|%d|", s, hdr.signalparam[s].label, (long long)hdr.signalparam[s].smp_in_datarecord, got);
        int show = got < 5 ? got : 5;
        for (int i = 0; i < show; i++) printf("%.6f ", buf[i]);
        printf("\n");
        free(buf);
    }
    for (long long i = 0; i < hdr.annotations_in_file; i++) {
        struct edf_annotation_struct a;
        edf_get_annotation(hdr.handle, (int)i, &a);
        printf("annotation %lld|%s|%s\n", (long long)a.onset, a.duration, a.annotation);
    }
    edfclose_file(hdr.handle);
    return 0;
}

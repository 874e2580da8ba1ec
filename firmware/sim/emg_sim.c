/*
 * emg_sim - runs the EMG board firmware (build/emg_board.elf) in simavr as an
 * ATmega328P at 16 MHz, feeds its ADC inputs from a known signal and bridges
 * its UART to a pseudo-terminal.
 *
 * stdout carries exactly one line, as soon as the pty exists:
 *     PTY /dev/pts/N
 * Everything else (progress, warnings, statistics) goes to stderr.
 *
 * Signal: the input file holds one ADC count per line (lines starting with
 * '#' and blank lines are skipped; with --input-bits B > 10 every value is
 * shifted right by B-10, e.g. 12-bit counts / 4). Let src[0..L-1] be those
 * counts. The harness numbers the sample instants n = 0, 1, 2, ... by
 * counting Timer1 compare-B matches (the firmware's sample clock) since
 * reset; this equals the SAMPLES sequence number the firmware gives that
 * instant. Channel k (ADCk) converted in instant n reads
 *     src[(n + k * OFFSET) mod L]        (OFFSET = --offset, default 1000)
 * exactly (the millivolts fed to simavr are chosen so that simavr's
 * conversion, count = mV * 1023 / 5000, returns that count). Without an input file src is the ramp
 * src[i] = i, L = 1024.
 *
 * Ends on SIGTERM/SIGINT (clean: statistics to stderr, exit status 0) or
 * after --seconds simulated seconds. Exit status 2: bad arguments or files,
 * 3: the firmware crashed or stopped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_io.h"
#include "sim_irq.h"
#include "sim_cycle_timers.h"
#include "avr_adc.h"
#include "avr_uart.h"
#include "avr_ioport.h"

#define F_CPU 16000000UL
#define VREF_MV 5000
#define TIMER1_COMPB_VECTOR 12   /* ATmega328P vector number of TIMER1_COMPB */
/* ATmega328P data-space addresses (avr/iom328p.h) */
#define R_TCCR1B 0x81
#define R_OCR1AL 0x88
#define R_OCR1AH 0x89

/* ------------------------------------------------------------------ options */

static const char *opt_firmware;
static const char *opt_input;
static int opt_input_bits = 10;
static long opt_offset = 1000;
static double opt_seconds;          /* 0 = until killed */
static int opt_fast;                /* 1 = do not pace to the wall clock */
static int opt_hw_trigger = 1;      /* emulate Timer1-compare-B ADC auto trigger */
static double opt_stats_every;      /* simulated seconds, 0 = only at exit */
static int opt_uart_bits = 10;      /* bits per byte on the line (8N1 = 10) */
static const char *opt_link;
static const char *opt_capture;
static int opt_drop;
static long opt_backlog = 1 << 20;
static int opt_verbose;

/* ------------------------------------------------------------------ state */

static volatile sig_atomic_t g_stop;
static avr_t *avr;

static uint16_t *src;
static size_t src_len;

static avr_irq_t *adc_irq;          /* ADC IRQ base */
static avr_irq_t *uart_irq;         /* UART0 IRQ base */
static avr_uart_t *uart;            /* for the byte-time correction */
static avr_cycle_count_t uart_fixed_cpb;

/* instants */
static uint64_t events;             /* Timer1 compare-B matches since reset */
static avr_cycle_count_t last_event_cycle;
static uint64_t conv_instant;       /* instant the conversions in flight belong to */
static avr_cycle_count_t ch0_start_cycle;
static int have_ch0;

/* statistics */
struct tstat { uint64_t n; int64_t min, max; double sum; };
static void stat_add(struct tstat *s, int64_t v)
{
    if (!s->n || v < s->min) s->min = v;
    if (!s->n || v > s->max) s->max = v;
    s->sum += (double)v;
    s->n++;
}
static struct tstat st_latency;      /* compare match -> channel-0 conversion start */
static struct tstat st_period;       /* (channel-0 start -> next channel-0 start) - nominal period */
static struct tstat st_skew[8];      /* channel-0 start -> channel-k start */
static uint32_t nominal_period, prev_nominal;
static uint64_t conversions;

/* UART <-> pty */
static int pty_master = -1, pty_slave = -1;
static char pty_name[128];
static uint8_t *outbuf;
static size_t out_len, out_cap, out_off;
static uint64_t tx_bytes, rx_bytes, pty_dropped;
static size_t backlog_max;
static uint8_t inq[4096];
static size_t inq_len, inq_off;
static int uart_xoff;
static int feeding;
static FILE *capture;
static int warned_backlog;

/* ------------------------------------------------------------------ helpers */

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("emg_sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void logger(avr_t *a, const int level, const char *fmt, va_list ap)
{
    (void)a;
    if (level <= (opt_verbose ? LOG_TRACE : LOG_ERROR))
        vfprintf(stderr, fmt, ap);
}

/* simavr's default sleep callback usleep()s while the AVR sleeps, a crude
 * pacing of its own; the main loop paces (or not) instead. */
static void no_sleep(avr_t *a, avr_cycle_count_t how_long)
{
    (void)a; (void)how_long;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Millivolts that simavr turns back into exactly `count`. simavr 1.6
 * computes count = mv * 1023 / vref (integer division; the datasheet's
 * formula has 1024); the smallest mV at or above count * vref / 1023 maps
 * back to count for every count 0..1023 (checked at start-up). */
static uint32_t mv_to_count(uint32_t mv)
{
    return mv * 1023 / VREF_MV;
}

static uint32_t count_to_mv(uint32_t count)
{
    return (count * VREF_MV + 1022) / 1023;
}

static void load_input(const char *path)
{
    if (!path) {
        src_len = 1024;
        src = malloc(src_len * sizeof *src);
        for (size_t i = 0; i < src_len; i++)
            src[i] = (uint16_t)i;
        return;
    }
    FILE *f = fopen(path, "r");
    if (!f)
        die(2, "cannot open input %s: %s", path, strerror(errno));
    size_t cap = 4096;
    src = malloc(cap * sizeof *src);
    char line[256];
    int shift = opt_input_bits > 10 ? opt_input_bits - 10 : 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == 0)
            continue;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            die(2, "%s: not a number: %s", path, line);
        v >>= shift;
        if (v < 0) v = 0;
        if (v > 1023) v = 1023;
        if (src_len == cap)
            src = realloc(src, (cap *= 2) * sizeof *src);
        src[src_len++] = (uint16_t)v;
    }
    fclose(f);
    if (!src_len)
        die(2, "%s: no samples", path);
}

static uint16_t signal_value(uint64_t instant, unsigned k)
{
    uint64_t i = (instant + (uint64_t)k * (uint64_t)opt_offset) % src_len;
    return src[i];
}

/* ------------------------------------------------------------------ ADC */

static uint32_t timer1_nominal(void)
{
    static const uint32_t presc[8] = { 0, 1, 8, 64, 256, 1024, 0, 0 };
    uint32_t cs = avr->data[R_TCCR1B] & 7;
    uint32_t top = avr->data[R_OCR1AL] | (avr->data[R_OCR1AH] << 8);
    return presc[cs] * (top + 1);
}

/* Timer1 compare-B interrupt became pending: a sample instant. */
static void on_compb(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)param;
    if (!value)
        return;
    if (getenv("EMG_SIM_DEBUG") && events && llabs((long long)(avr->cycle - last_event_cycle) - (long long)timer1_nominal()) > 8)
        fprintf(stderr, "compb event %llu at %llu, +%llu, nominal %u TCNT1=%u\n",
                (unsigned long long)events, (unsigned long long)avr->cycle,
                (unsigned long long)(avr->cycle - last_event_cycle), timer1_nominal(),
                avr->data[0x84] | (avr->data[0x85] << 8));
    events++;
    last_event_cycle = avr->cycle;
    prev_nominal = nominal_period;
    nominal_period = timer1_nominal();
    if (opt_hw_trigger) {
        /* What the ATmega328P does with ADTS = Timer1 compare B; simavr 1.6
         * only implements free-running auto trigger, so the harness does it.
         * The ADC ignores it unless ADATE is set and it is idle. */
        avr_raise_irq(adc_irq + ADC_IRQ_IN_TRIGGER, 1);
        avr_raise_irq(adc_irq + ADC_IRQ_IN_TRIGGER, 0);
    }
}

/* The ADC starts a conversion: put the channel's value on its pin. */
static void on_adc_start(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)param;
    union { avr_adc_mux_t mux; uint32_t v; } e = { .v = value };
    if (e.mux.kind != ADC_MUX_SINGLE)
        return;
    unsigned k = e.mux.src;
    if (k > 7)
        return;
    conversions++;
    avr_cycle_count_t c = avr->cycle;
    if (k == 0) {
        if (events == 0)
            return;                              /* the firmware's throw-away first conversion */
        conv_instant = events - 1;
        stat_add(&st_latency, (int64_t)(c - last_event_cycle));
        if (have_ch0 && prev_nominal == nominal_period &&
            (c - ch0_start_cycle) < 2 * (avr_cycle_count_t)nominal_period)
            stat_add(&st_period, (int64_t)(c - ch0_start_cycle) - (int64_t)nominal_period);
        ch0_start_cycle = c;
        have_ch0 = 1;
    } else if (have_ch0) {
        stat_add(&st_skew[k], (int64_t)(c - ch0_start_cycle));
    }
    uint16_t count = signal_value(conv_instant, k);
    avr_raise_irq(adc_irq + ADC_IRQ_ADC0 + k, count_to_mv(count));
}

/* D13 (PB5), the status LED */
static uint64_t led_toggles;
static void on_led(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)value; (void)param;
    led_toggles++;
}

/* ------------------------------------------------------------------ UART */

static void on_uart_out(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)param;
    uint8_t b = (uint8_t)value;
    tx_bytes++;
    if (capture)
        fputc(b, capture);
    if (out_len - out_off >= (size_t)opt_backlog && opt_drop) {
        pty_dropped++;
        return;
    }
    if (out_len == out_cap) {
        if (out_off > 0) {
            memmove(outbuf, outbuf + out_off, out_len - out_off);
            out_len -= out_off;
            out_off = 0;
        }
        if (out_len == out_cap) {
            out_cap = out_cap ? out_cap * 2 : 65536;
            outbuf = realloc(outbuf, out_cap);
        }
    }
    outbuf[out_len++] = b;
    if (out_len - out_off > backlog_max)
        backlog_max = out_len - out_off;
}

static void on_xon(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)value; (void)param;
    uart_xoff = 0;
}

static void on_xoff(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq; (void)param;
    uart_xoff = value ? 1 : 0;
}

/* Host -> board: one byte per byte time, as on the wire. */
static avr_cycle_count_t feed_byte(avr_t *a, avr_cycle_count_t when, void *param)
{
    (void)param;
    if (inq_off < inq_len && !uart_xoff) {
        avr_raise_irq(uart_irq + UART_IRQ_INPUT, inq[inq_off++]);
        rx_bytes++;
    }
    if (inq_off >= inq_len) {
        inq_off = inq_len = 0;
        feeding = 0;
        return 0;
    }
    avr_cycle_count_t per = uart && uart->cycles_per_byte ? uart->cycles_per_byte : 320;
    (void)a;
    return when + per;
}

/* simavr 1.6 counts a parity bit that 8N1 does not have (11 bits/byte):
 * bring the byte time back to opt_uart_bits bits. */
static void uart_fix_timing(void)
{
    if (!uart || opt_uart_bits == 11)
        return;
    avr_cycle_count_t c = uart->cycles_per_byte;
    if (c && c != uart_fixed_cpb && c % 11 == 0) {
        uart_fixed_cpb = c / 11 * (avr_cycle_count_t)opt_uart_bits;
        uart->cycles_per_byte = uart_fixed_cpb;
        if (opt_verbose)
            fprintf(stderr, "emg_sim: UART byte time %llu -> %llu cycles\n",
                    (unsigned long long)c, (unsigned long long)uart_fixed_cpb);
    }
}

/* Move bytes between the pty and the simulator; wait up to timeout_ms. */
static void pty_io(int timeout_ms)
{
    struct pollfd pfd = { .fd = pty_master, .events = POLLIN };
    if (out_len > out_off)
        pfd.events |= POLLOUT;
    int r = poll(&pfd, 1, timeout_ms);
    if (r <= 0)
        return;
    if (pfd.revents & POLLOUT) {
        ssize_t w = write(pty_master, outbuf + out_off, out_len - out_off);
        if (w > 0) {
            out_off += (size_t)w;
            if (out_off == out_len)
                out_off = out_len = 0;
        }
    }
    if (pfd.revents & POLLIN) {
        if (inq_off > 0 && inq_off == inq_len)
            inq_off = inq_len = 0;
        if (inq_len < sizeof inq) {
            ssize_t n = read(pty_master, inq + inq_len, sizeof inq - inq_len);
            if (n > 0) {
                inq_len += (size_t)n;
                if (!feeding) {
                    feeding = 1;
                    avr_cycle_timer_register(avr, 1, feed_byte, NULL);
                }
            }
        }
    }
}

static void open_pty(void)
{
    if (openpty(&pty_master, &pty_slave, pty_name, NULL, NULL) < 0)
        die(2, "openpty: %s", strerror(errno));
    struct termios tio;
    /* Raw before any byte is written: no echo, no CR/LF or XON/XOFF games. */
    tcgetattr(pty_slave, &tio);
    cfmakeraw(&tio);
    cfsetispeed(&tio, B500000);
    cfsetospeed(&tio, B500000);
    tcsetattr(pty_slave, TCSANOW, &tio);
    /* The slave stays open here (never read): the line discipline and its
     * buffer survive readers opening and closing the port. */
    fcntl(pty_master, F_SETFL, fcntl(pty_master, F_GETFL) | O_NONBLOCK);
    if (opt_link) {
        unlink(opt_link);
        if (symlink(pty_name, opt_link) < 0)
            fprintf(stderr, "emg_sim: cannot link %s: %s\n", opt_link, strerror(errno));
    }
    printf("PTY %s\n", pty_name);
    fflush(stdout);
}

/* ------------------------------------------------------------------ stats */

static void print_stats(double wall0)
{
    double sim_s = (double)avr->cycle / F_CPU;
    double wall_s = now_s() - wall0;
    fprintf(stderr,
            "STATS sim_s=%.3f wall_s=%.3f speed=%.2f instants=%llu conversions=%llu",
            sim_s, wall_s, wall_s > 0 ? sim_s / wall_s : 0.0,
            (unsigned long long)events, (unsigned long long)conversions);
    if (st_latency.n)
        fprintf(stderr, " latency_cycles=%lld/%lld/%.1f",
                (long long)st_latency.min, (long long)st_latency.max, st_latency.sum / st_latency.n);
    if (st_period.n)
        fprintf(stderr, " period_error_cycles=%lld/%lld/%.2f nominal=%u",
                (long long)st_period.min, (long long)st_period.max, st_period.sum / st_period.n,
                nominal_period);
    for (int k = 1; k < 8; k++)
        if (st_skew[k].n)
            fprintf(stderr, " ch%d_offset_cycles=%lld/%lld", k,
                    (long long)st_skew[k].min, (long long)st_skew[k].max);
    fprintf(stderr, " led_toggles=%llu tx_bytes=%llu rx_bytes=%llu backlog_max=%zu pty_dropped=%llu\n",
            (unsigned long long)led_toggles, (unsigned long long)tx_bytes, (unsigned long long)rx_bytes,
            backlog_max, (unsigned long long)pty_dropped);
}

/* ------------------------------------------------------------------ main */

static void usage(const char *argv0)
{
    fprintf(stderr,
"usage: %s [options] [INPUT.txt]\n"
"  INPUT.txt            ADC counts, one per line ('#' lines skipped); default: ramp 0..1023\n"
"  -f, --firmware ELF   firmware image (default: emg_board.elf beside this program)\n"
"  -b, --input-bits B   resolution of INPUT (default 10; 12 -> values >> 2)\n"
"  -o, --offset N       channel k reads src[(n + k*N) mod L] (default 1000)\n"
"  -t, --seconds S      exit after S simulated seconds (default: until SIGTERM/SIGINT)\n"
"      --fast           run as fast as possible (default: paced to the wall clock)\n"
"      --no-hw-trigger  do not emulate the Timer1->ADC auto trigger (firmware starts the ADC in software)\n"
"      --stats-every S  print statistics to stderr every S simulated seconds\n"
"      --uart-bits N    bits per byte on the line (default 10 = 8N1; 11 = simavr 1.6's own timing)\n"
"      --link PATH      also create a symlink PATH -> the pty\n"
"      --capture FILE   also write every byte the board sends to FILE\n"
"      --drop           drop output beyond --backlog while nobody reads (default: pause the simulation)\n"
"      --backlog BYTES  output buffered for a slow or absent reader (default 1048576)\n"
"  -v, --verbose        simavr trace messages to stderr\n", argv0);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "firmware", required_argument, 0, 'f' },
        { "input-bits", required_argument, 0, 'b' },
        { "offset", required_argument, 0, 'o' },
        { "seconds", required_argument, 0, 't' },
        { "fast", no_argument, 0, 1 },
        { "no-hw-trigger", no_argument, 0, 2 },
        { "stats-every", required_argument, 0, 3 },
        { "uart-bits", required_argument, 0, 4 },
        { "link", required_argument, 0, 5 },
        { "capture", required_argument, 0, 6 },
        { "drop", no_argument, 0, 7 },
        { "backlog", required_argument, 0, 8 },
        { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 }
    };
    int c;
    while ((c = getopt_long(argc, argv, "f:b:o:t:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': opt_firmware = optarg; break;
        case 'b': opt_input_bits = atoi(optarg); break;
        case 'o': opt_offset = atol(optarg); break;
        case 't': opt_seconds = atof(optarg); break;
        case 1: opt_fast = 1; break;
        case 2: opt_hw_trigger = 0; break;
        case 3: opt_stats_every = atof(optarg); break;
        case 4: opt_uart_bits = atoi(optarg); break;
        case 5: opt_link = optarg; break;
        case 6: opt_capture = optarg; break;
        case 7: opt_drop = 1; break;
        case 8: opt_backlog = atol(optarg); break;
        case 'v': opt_verbose = 1; break;
        case 'h': usage(argv[0]); return 0;
        default: usage(argv[0]); return 2;
        }
    }
    if (optind < argc)
        opt_input = argv[optind++];
    if (optind < argc || opt_input_bits < 10 || opt_input_bits > 16 || opt_offset < 0 ||
        opt_uart_bits < 9 || opt_uart_bits > 12 || opt_backlog < 4096) {
        usage(argv[0]);
        return 2;
    }

    char fwpath[PATH_MAX];
    if (!opt_firmware) {
        ssize_t n = readlink("/proc/self/exe", fwpath, sizeof fwpath - 32);
        if (n < 0)
            die(2, "cannot find myself; use --firmware");
        fwpath[n] = 0;
        char *slash = strrchr(fwpath, '/');
        strcpy(slash ? slash + 1 : fwpath, "emg_board.elf");
        opt_firmware = fwpath;
    }

    load_input(opt_input);
    for (uint32_t k = 0; k < 1024; k++)       /* the count -> mV -> count round trip is exact */
        if (mv_to_count(count_to_mv(k)) != k)
            die(2, "internal: mV mapping not exact for %u", k);

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    avr_global_logger_set(logger);

    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (access(opt_firmware, R_OK) != 0 || elf_read_firmware(opt_firmware, &fw) != 0)
        die(2, "cannot load firmware %s", opt_firmware);
    strcpy(fw.mmcu, "atmega328p");
    fw.frequency = F_CPU;
    avr = avr_make_mcu_by_name(fw.mmcu);
    if (!avr)
        die(2, "simavr has no atmega328p");
    avr_init(avr);
    avr->log = opt_verbose ? LOG_TRACE : LOG_ERROR;
    avr->sleep = no_sleep;
    avr_load_firmware(avr, &fw);
    avr->frequency = F_CPU;
    avr->vcc = avr->avcc = VREF_MV;
    avr->aref = VREF_MV;

    /* ADC */
    adc_irq = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, 0);
    avr_irq_register_notify(adc_irq + ADC_IRQ_OUT_TRIGGER, on_adc_start, NULL);
    for (int k = 0; k < 8; k++)
        avr_raise_irq(adc_irq + ADC_IRQ_ADC0 + k, count_to_mv(signal_value(0, k)));

    /* Timer1 compare B: the sample clock. */
    avr_int_vector_t *compb = NULL;
    for (int i = 0; i < avr->interrupts.vector_count; i++)
        if (avr->interrupts.vector[i] && avr->interrupts.vector[i]->vector == TIMER1_COMPB_VECTOR)
            compb = avr->interrupts.vector[i];
    if (!compb)
        die(2, "cannot find the TIMER1_COMPB vector");
    avr_irq_register_notify(compb->irq + AVR_INT_IRQ_PENDING, on_compb, NULL);

    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), 5), on_led, NULL);

    /* UART0 */
    uint32_t flags = 0;
    avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
    avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    uart_irq = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), 0);
    avr_irq_register_notify(uart_irq + UART_IRQ_OUTPUT, on_uart_out, NULL);
    avr_irq_register_notify(uart_irq + UART_IRQ_OUT_XON, on_xon, NULL);
    avr_irq_register_notify(uart_irq + UART_IRQ_OUT_XOFF, on_xoff, NULL);
    for (avr_io_t *io = avr->io_port; io; io = io->next)
        if (io->kind && !strcmp(io->kind, "uart") && io->irq == uart_irq)
            uart = (avr_uart_t *)io;

    if (opt_capture && !(capture = fopen(opt_capture, "wb")))
        die(2, "cannot open %s: %s", opt_capture, strerror(errno));

    open_pty();
    fprintf(stderr, "emg_sim: %s, %zu input samples, offset %ld, %s, %s trigger\n",
            opt_firmware, src_len, opt_offset, opt_fast ? "fast" : "real time",
            opt_hw_trigger ? "hardware" : "software");

    const avr_cycle_count_t slice = F_CPU / 1000;     /* 1 ms of simulated time */
    const avr_cycle_count_t end_cycle = opt_seconds > 0 ? (avr_cycle_count_t)(opt_seconds * F_CPU) : 0;
    avr_cycle_count_t next_stats = opt_stats_every > 0 ? (avr_cycle_count_t)(opt_stats_every * F_CPU) : 0;
    double wall0 = now_s();
    int rc = 0;

    while (!g_stop) {
        avr_cycle_count_t target = avr->cycle + slice;
        while (avr->cycle < target) {
            int state = avr_run(avr);
            if (state == cpu_Done || state == cpu_Crashed) {
                fprintf(stderr, "emg_sim: firmware %s at cycle %llu\n",
                        state == cpu_Done ? "stopped" : "crashed", (unsigned long long)avr->cycle);
                rc = 3;
                g_stop = 1;
                break;
            }
        }
        uart_fix_timing();
        pty_io(0);
        if (end_cycle && avr->cycle >= end_cycle)
            break;
        if (next_stats && avr->cycle >= next_stats) {
            print_stats(wall0);
            next_stats += (avr_cycle_count_t)(opt_stats_every * F_CPU);
        }
        if (!opt_fast) {
            double ahead = (double)avr->cycle / F_CPU - (now_s() - wall0);
            while (ahead > 0.0005 && !g_stop) {
                pty_io((int)(ahead * 1000) + 1 > 50 ? 50 : (int)(ahead * 1000) + 1);
                ahead = (double)avr->cycle / F_CPU - (now_s() - wall0);
            }
        }
        /* Lossless by default: a reader that is slow or absent pauses the board. */
        while (!opt_drop && out_len - out_off > (size_t)opt_backlog && !g_stop) {
            if (!warned_backlog++)
                fprintf(stderr, "emg_sim: %zu bytes unread, pausing until the pty is read\n",
                        out_len - out_off);
            pty_io(50);
            if (!opt_fast)
                wall0 = now_s() - (double)avr->cycle / F_CPU;   /* do not race to catch up */
        }
    }
    print_stats(wall0);
    /* Give a reader a last chance at what is buffered (at most 0.2 s). */
    for (int i = 0; i < 20 && out_len > out_off; i++)
        pty_io(10);
    if (capture)
        fclose(capture);
    if (opt_link)
        unlink(opt_link);
    close(pty_master);
    close(pty_slave);
    return rc;
}

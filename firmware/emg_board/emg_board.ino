/*
 * emg_board.ino - surface-EMG acquisition firmware for ATmega328P boards
 * (Arduino Uno / Nano, 16 MHz), speaking docs/protocol.md (version 1).
 *
 * Register-level AVR C++: it uses nothing from the Arduino core, so the same
 * file builds two ways:
 *   - Arduino IDE / arduino-cli: opens as a sketch; the core's main() calls
 *     setup() and loop(). (The core's init() runs first; setup() takes over
 *     Timer1, the ADC and the USART and silences Timer0's millis() interrupt.)
 *   - plain avr-gcc (firmware/Makefile): compiled with `-x c++`; ARDUINO is not
 *     defined, so the main() at the bottom of this file calls setup()/loop().
 *
 * Data path
 *   Timer1 (CTC, TOP = OCR1A, OCR1B = OCR1A) marks the sample instants. Its
 *   compare-match B is the ADC's auto-trigger source (ADTS = 5), so channel 0
 *   of every instant is converted at a fixed cycle after the match: no
 *   software latency, no jitter. The ADC-complete interrupt stores the result,
 *   switches the multiplexer to the next channel and starts it (round robin
 *   A0..A(n-1)); after the last channel it re-selects A0 for the next trigger
 *   and publishes the instant into a ring buffer. The TIMER1_COMPB interrupt
 *   numbers the instant (sequence), picks its ring slot, clears OCF1B (a new
 *   rising edge is needed for the next trigger) and, where the ADC did not
 *   start by itself (simulators without auto-trigger), starts channel 0.
 *   The main loop turns ring entries into SAMPLES frames in a TX ring that
 *   the USART-data-register-empty interrupt sends; a busy UART therefore
 *   never moves a sample instant, it only fills the ring. When the ring is
 *   full the instant is dropped, its sequence number is still used, and an
 *   OVERFLOW frame with the cumulative count follows: never a silent loss.
 *
 * ADC clock: prescaler 128 -> 125 kHz. The datasheet asks for 50-200 kHz for
 * full 10-bit resolution; 64 would give 250 kHz (out of spec, about 8-9
 * effective bits), 128 is the only setting inside the window at 16 MHz.
 * One conversion is 13 ADC clocks (13.5 when auto-triggered) = 104-108 us,
 * plus up to one ADC clock waiting for the clock edge after a software start:
 * about 9000 conversions/s in total, so 8 channels x 1000 Hz (8000/s) fits,
 * 8 x 1200 does not. See channels_rate_ok() and docs/hardware.md.
 *
 * UART: 500000 baud 8N1, UBRR0 = 3 with U2X0: exact at 16 MHz.
 */

#include <avr/io.h>
#include <avr/interrupt.h>
#include <avr/sleep.h>
#include <util/atomic.h>
#include <util/crc16.h>
#include <stdint.h>

#ifndef F_CPU
#define F_CPU 16000000UL
#endif

/* ---------------------------------------------------------------- config */

#define FW_MAJOR 1
#define FW_MINOR 0
#define FW_PATCH 0
#define PROTOCOL_VERSION 1

#ifndef BOARD_NAME
#define BOARD_NAME "uno"          /* up to 32 ASCII characters */
#endif

#define EMG_BAUD        500000UL
#define EMG_UBRR        3         /* F_CPU / (8 * (UBRR + 1)) = 500000 with U2X0 */

#define MAX_CHANNELS    8         /* ADC0..ADC7 (A6/A7 exist on Nano-class TQFP/QFN parts only) */
#define DEFAULT_CHANNELS 8
#define DEFAULT_RATE    1000
#define ADC_BITS        10
#define ADC_VREF_MV     5000      /* AVCC reference (REFS0), 5 V supply */

/* Timing budget of one sample instant, in CPU cycles (ADC clock = 128 cycles):
 * the first, auto-triggered conversion takes 13.5 ADC clocks; every further
 * channel 13 clocks plus up to 1 clock until the ADC clock edge after ADSC;
 * plus a margin that covers interrupt latency so that the last conversion's
 * interrupt has finished well before the next trigger. */
#define CYC_FIRST_CONV  1728UL
#define CYC_NEXT_CONV   1792UL
#define CYC_MARGIN      320UL
/* The line: a SAMPLES frame is 10 + 2n bytes of 10 bits; keep 20% of the line
 * free for HELLO/ACK/OVERFLOW and for catching up after a burst. */
#define LINE_BYTES_PER_S_80 (EMG_BAUD / 10UL * 8UL / 10UL)   /* 40000 */
#define RATE_MIN        1

#ifndef EMG_NO_LIMITS
#define EMG_NO_LIMITS 0           /* 1: accept any rate (for measuring the real limits in the simulator) */
#endif

/* ---------------------------------------------------------------- protocol */

#define SYNC1           0xA5
#define SYNC2           0x5A
#define T_HELLO         0x01
#define T_SAMPLES       0x02
#define T_ACK           0x03
#define T_OVERFLOW      0x04
#define T_START         0x81
#define T_STOP          0x82
#define T_IDENTIFY      0x83
#define T_SET_RATE      0x84
#define T_SET_CHANNELS  0x85

#define ACK_OK          0
#define ACK_UNKNOWN     1
#define ACK_RANGE       2
#define ACK_MALFORMED   3

/* ---------------------------------------------------------------- state */

/* One sample instant as taken by the interrupts. */
struct Instant {
    uint32_t seq;
    uint8_t  nch;
    uint8_t  gen;                 /* configuration generation it was taken with */
    uint16_t v[MAX_CHANNELS];
};

#define RING_LEN 32               /* power of two; 32 instants = 32 ms at 1 kHz */
#define RING_MASK (RING_LEN - 1)

static struct Instant ring[RING_LEN];
static struct Instant scratch;    /* target of a dropped instant's conversions */
static volatile uint8_t ring_head;   /* written by ADC ISR (publish) */
static volatile uint8_t ring_tail;   /* written by main loop (consume) */

static volatile uint32_t next_seq;       /* sequence number of the next instant */
static volatile uint32_t dropped;        /* instants dropped since boot */
static uint32_t dropped_reported;        /* main loop only */

static volatile uint8_t in_instant;      /* 1 from the trigger until the last channel is stored */
static struct Instant * volatile cur;    /* slot of the instant being converted */
static volatile uint8_t cur_ch;
static volatile uint8_t cur_nch;

static volatile uint8_t cfg_nch = DEFAULT_CHANNELS;  /* read by ISR at each instant start */
static volatile uint8_t cfg_gen;
static uint16_t cfg_rate = DEFAULT_RATE;
static uint8_t streaming;

static volatile uint16_t blink_count;
static volatile uint16_t blink_period;

/* UART transmit ring: main loop writes, UDRE interrupt reads. */
static uint8_t tx_buf[256];
static volatile uint8_t tx_head;
static volatile uint8_t tx_tail;
static uint16_t tx_crc;

/* UART receive ring: RX interrupt writes, main loop reads. */
#define RX_LEN 64
static uint8_t rx_buf[RX_LEN];
static volatile uint8_t rx_head;
static volatile uint8_t rx_tail;

/* Command parser: a linear buffer that can re-scan after a false sync. */
#define CMD_MAX_PAYLOAD 32
static uint8_t cmd[4 + CMD_MAX_PAYLOAD + 2];
static uint8_t cmd_len;

/* ---------------------------------------------------------------- hardware */

#define ADMUX_BASE    (1 << REFS0)                         /* AVCC reference, right-adjusted */
#define ADCSRA_RUN    ((1 << ADEN) | (1 << ADATE) | (1 << ADIE) | \
                       (1 << ADPS2) | (1 << ADPS1) | (1 << ADPS0)) /* /128 = 125 kHz */
#define ADTS_T1_COMPB ((1 << ADTS2) | (1 << ADTS0))         /* ADTS = 101 */

#define LED_ON()     (PORTB |= (1 << PB5))
#define LED_OFF()    (PORTB &= (uint8_t)~(1 << PB5))

/* ---------------------------------------------------------------- interrupts */

ISR(TIMER1_COMPB_vect)
{
    /* One sample instant. On the ATmega328P the ADC was already started by
     * this compare match (auto trigger); the vector clears OCF1B so that the
     * next match is a new rising edge. */
    if (in_instant) {
        /* The previous instant is still converting, so the hardware ignored
         * this trigger: the instant is lost; count it, never shift time.
         * (Only reachable when EMG_NO_LIMITS lifts the range checks.) */
        next_seq = next_seq + 1;
        dropped = dropped + 1;
        return;
    }
    if (!(ADCSRA & (1 << ADSC)))
        ADCSRA = ADCSRA_RUN | (1 << ADSC);   /* no auto trigger (e.g. a simulator) */

    uint8_t h = ring_head;
    struct Instant *slot;
    if (((uint8_t)(h - ring_tail)) >= RING_LEN) {
        slot = &scratch;                     /* ring full: this instant is dropped */
        dropped = dropped + 1;
    } else {
        slot = &ring[h & RING_MASK];
    }
    slot->seq = next_seq;
    next_seq = next_seq + 1;
    slot->nch = cfg_nch;
    slot->gen = cfg_gen;
    cur = slot;
    cur_nch = cfg_nch;
    cur_ch = 0;
    in_instant = 1;
}

ISR(ADC_vect)
{
    uint16_t v = ADC;
    if (!in_instant)
        return;                              /* stray conversion (see TIMER1_COMPB) */
    struct Instant *slot = cur;
    uint8_t ch = cur_ch;
    slot->v[ch] = v;
    ch++;
    if (ch < cur_nch) {
        ADMUX = ADMUX_BASE | ch;
        ADCSRA = ADCSRA_RUN | (1 << ADSC);   /* next channel of this instant */
        cur_ch = ch;
        return;
    }
    /* Last channel done: A0 for the next trigger, publish the instant. */
    ADMUX = ADMUX_BASE;
    in_instant = 0;
    if (slot != &scratch)
        ring_head = ring_head + 1;
    if (++blink_count >= blink_period) {
        blink_count = 0;
        PINB = (1 << PINB5);                 /* toggle D13 */
    }
}

ISR(USART_UDRE_vect)
{
    uint8_t t = tx_tail;
    if (t != tx_head) {
        UDR0 = tx_buf[t];
        tx_tail = ++t;
    }
    if (t == tx_head)
        UCSR0B &= (uint8_t)~(1 << UDRIE0);
}

ISR(USART_RX_vect)
{
    uint8_t b = UDR0;
    uint8_t h = rx_head;
    if ((uint8_t)(h - rx_tail) < RX_LEN) {
        rx_buf[h % RX_LEN] = b;
        rx_head = h + 1;
    }                                        /* else: dropped; the host's CRC/ACK timeout notices */
}

/* ---------------------------------------------------------------- helpers */

static void idle(void)
{
    /* Sleep until the next interrupt (any pending one wakes at once). */
    set_sleep_mode(SLEEP_MODE_IDLE);
    sleep_enable();
    sleep_cpu();
    sleep_disable();
}

static uint8_t tx_free(void)
{
    return (uint8_t)(255 - (uint8_t)(tx_head - tx_tail));
}

static void tx_wait(uint8_t n)
{
    while (tx_free() < n)
        idle();                              /* UDRE interrupt frees space */
}

static void tx_put(uint8_t b)
{
    uint8_t h = tx_head;
    tx_buf[h] = b;
    tx_head = h + 1;
}

static void tx_put_crc(uint8_t b)
{
    tx_crc = _crc_xmodem_update(tx_crc, b);
    tx_put(b);
}

static void frame_begin(uint8_t type, uint8_t len)
{
    tx_wait((uint8_t)(len + 6));
    tx_put(SYNC1);
    tx_put(SYNC2);
    tx_crc = 0xFFFF;
    tx_put_crc(type);
    tx_put_crc(len);
}

static void frame_end(void)
{
    uint16_t c = tx_crc;
    tx_put((uint8_t)c);
    tx_put((uint8_t)(c >> 8));
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
        UCSR0B |= (1 << UDRIE0);
    }
}

static void put_u16(uint16_t v)
{
    tx_put_crc((uint8_t)v);
    tx_put_crc((uint8_t)(v >> 8));
}

static void put_u32(uint32_t v)
{
    put_u16((uint16_t)v);
    put_u16((uint16_t)(v >> 16));
}

static uint8_t ring_count(void)
{
    return (uint8_t)(ring_head - ring_tail);
}

/* Format the oldest queued instant as a SAMPLES frame (waits for TX room). */
static void send_oldest_instant(void)
{
    struct Instant *s = &ring[ring_tail & RING_MASK];
    uint8_t n = s->nch;
    frame_begin(T_SAMPLES, (uint8_t)(4 + 2 * n));
    put_u32(s->seq);
    for (uint8_t i = 0; i < n; i++)
        put_u16(s->v[i]);
    frame_end();
    ring_tail = ring_tail + 1;               /* slot free only after it is copied */
}

static void send_overflow_if_new(void)
{
    uint32_t d;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { d = dropped; }
    if (d == dropped_reported)
        return;
    frame_begin(T_OVERFLOW, 4);
    put_u32(d);
    frame_end();
    dropped_reported = d;
}

static void send_ack(uint8_t type, uint8_t result)
{
    frame_begin(T_ACK, 2);
    tx_put_crc(type);
    tx_put_crc(result);
    frame_end();
}

static void send_hello(void)
{
    static const char name[] = BOARD_NAME;
    const uint8_t name_len = (uint8_t)(sizeof(name) - 1) > 32 ? 32 : (uint8_t)(sizeof(name) - 1);
    uint32_t nseq;
    /* Next sequence: the oldest instant not yet formatted, else the one in
     * progress, else the next one the timer will start. */
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
        if (ring_head != ring_tail)
            nseq = ring[ring_tail & RING_MASK].seq;
        else if (in_instant && cur != &scratch)
            nseq = cur->seq;
        else
            nseq = next_seq;
    }
    frame_begin(T_HELLO, (uint8_t)(15 + name_len));
    tx_put_crc(PROTOCOL_VERSION);
    tx_put_crc(FW_MAJOR);
    tx_put_crc(FW_MINOR);
    tx_put_crc(FW_PATCH);
    tx_put_crc(cfg_nch);
    put_u16(cfg_rate);
    tx_put_crc(ADC_BITS);
    put_u16(ADC_VREF_MV);
    tx_put_crc(streaming);
    put_u32(nseq);
    for (uint8_t i = 0; i < name_len; i++)
        tx_put_crc((uint8_t)name[i]);
    frame_end();
}

/* Can the ADC and the line sustain n channels at rate Hz? */
static uint8_t channels_rate_ok(uint8_t n, uint16_t rate)
{
    if (n < 1 || n > MAX_CHANNELS || rate < RATE_MIN)
        return 0;
#if !EMG_NO_LIMITS
    if ((uint32_t)(10 + 2 * n) * rate > LINE_BYTES_PER_S_80)
        return 0;
    if ((uint32_t)rate * (CYC_FIRST_CONV + (uint32_t)(n - 1) * CYC_NEXT_CONV + CYC_MARGIN) > F_CPU)
        return 0;
#endif
    return 1;
}

/* Timer1 period for a rate: smallest prescaler whose count fits 16 bits. */
static void timer_period(uint16_t rate, uint8_t *cs, uint16_t *top)
{
    static const uint16_t presc[4] = { 1, 8, 64, 256 };
    uint8_t i;
    uint32_t ticks = 0;
    for (i = 0; i < 4; i++) {
        uint32_t clk = F_CPU / presc[i];
        ticks = (clk + rate / 2) / rate;     /* nearest */
        if (ticks <= 65536UL)
            break;
    }
    if (i == 4) { i = 3; ticks = 65536UL; }
    *cs = (uint8_t)(i + 1);                  /* CS12:0 = 1, 2, 3, 4 */
    *top = (uint16_t)(ticks - 1);
}

/* Stop the sample clock (call with interrupts disabled). */
static void timer_stop(void)
{
    TCCR1B = (1 << WGM12);                   /* CTC, no clock */
}

/* (Re)start the sample clock from count 0 (interrupts disabled). */
static void timer_start_with(uint8_t cs, uint16_t top)
{
    TCCR1B = (1 << WGM12);
    TCCR1A = 0;
    TCNT1 = 0;
    OCR1A = top;
    OCR1B = top;                             /* B matches together with TOP */
    TIFR1 = (1 << OCF1A) | (1 << OCF1B);
    TIMSK1 = (1 << OCIE1B);
    TCCR1B = (uint8_t)((1 << WGM12) | cs);
}

static void timer_start(void)
{
    uint8_t cs;
    uint16_t top;
    timer_period(cfg_rate, &cs, &top);
    timer_start_with(cs, top);
}

static void set_blink(void)
{
    uint16_t p = cfg_rate / 4;               /* toggle 4x/s: 2 Hz blink */
    blink_period = p ? p : 1;
}

/* Wait (interrupts enabled) until no instant is being converted, then
 * return with interrupts disabled, at an instant boundary. */
static void wait_instant_boundary(void)
{
    for (;;) {
        cli();
        /* A pending compare match means the ADC was already triggered for
         * an instant whose interrupt has not run yet: let it run first. */
        if (!in_instant && !(TIFR1 & (1 << OCF1B)))
            return;
        sei();
        idle();
    }
}

/* After a change of shape: send every instant of the old configuration, then
 * the HELLO that announces the new one, so that every SAMPLES frame after a
 * HELLO has the HELLO's channel count. */
static void flush_old_then_hello(uint8_t gen)
{
    while (ring_count() && ring[ring_tail & RING_MASK].gen != gen)
        send_oldest_instant();
    send_hello();
}

/* ---------------------------------------------------------------- commands */

static void handle_command(uint8_t type, const uint8_t *p, uint8_t len)
{
    switch (type) {
    case T_START:
        if (len != 0) { send_ack(type, ACK_MALFORMED); return; }
        if (!streaming) {
            cli();
            streaming = 1;
            blink_count = 0;
            timer_start();
            sei();
        }
        send_ack(type, ACK_OK);
        return;

    case T_STOP:
        if (len != 0) { send_ack(type, ACK_MALFORMED); return; }
        if (streaming) {
            cli();
            timer_stop();
            streaming = 0;
            sei();
            wait_instant_boundary();         /* let the last instant finish */
            sei();
            LED_OFF();
        }
        while (ring_count())                 /* no SAMPLES after the ACK */
            send_oldest_instant();
        send_overflow_if_new();
        send_ack(type, ACK_OK);
        return;

    case T_IDENTIFY:
        if (len != 0) { send_ack(type, ACK_MALFORMED); return; }
        send_hello();
        return;

    case T_SET_RATE: {
        if (len != 2) { send_ack(type, ACK_MALFORMED); return; }
        uint16_t rate = (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
        if (!channels_rate_ok(cfg_nch, rate)) { send_ack(type, ACK_RANGE); return; }
        send_ack(type, ACK_OK);
        uint8_t cs;
        uint16_t top;
        timer_period(rate, &cs, &top);       /* the slow part, before the critical one */
        wait_instant_boundary();
        timer_stop();
        /* A match between the check and the stop still became an instant
         * (the ADC has started): let it finish with the old settings. */
        wait_instant_boundary();
        cfg_rate = rate;
        cfg_gen = cfg_gen + 1;
        if (streaming)
            timer_start_with(cs, top);       /* next instant one new period from now */
        sei();
        set_blink();
        flush_old_then_hello(cfg_gen);
        return;
    }

    case T_SET_CHANNELS: {
        if (len != 1) { send_ack(type, ACK_MALFORMED); return; }
        uint8_t n = p[0];
        if (!channels_rate_ok(n, cfg_rate)) { send_ack(type, ACK_RANGE); return; }
        send_ack(type, ACK_OK);
        wait_instant_boundary();
        cfg_nch = n;
        cfg_gen = cfg_gen + 1;
        sei();
        flush_old_then_hello(cfg_gen);
        return;
    }

    default:
        send_ack(type, ACK_UNKNOWN);
        return;
    }
}

static void cmd_drop(uint8_t n)
{
    for (uint8_t i = n; i < cmd_len; i++)
        cmd[i - n] = cmd[i];
    cmd_len = (uint8_t)(cmd_len - n);
}

/* Feed one received byte; handle every complete frame. A failed CRC resumes
 * the search one byte after the false sync, as docs/protocol.md asks. A
 * header announcing more payload than any command has is taken as a false
 * sync at once. */
static void cmd_feed(uint8_t b)
{
    if (cmd_len < sizeof(cmd))
        cmd[cmd_len++] = b;
    for (;;) {
        if (cmd_len == 0)
            return;
        if (cmd[0] != SYNC1) { cmd_drop(1); continue; }
        if (cmd_len < 2) return;
        if (cmd[1] != SYNC2) { cmd_drop(1); continue; }
        if (cmd_len < 4) return;
        uint8_t len = cmd[3];
        if (len > CMD_MAX_PAYLOAD) { cmd_drop(1); continue; }
        uint8_t total = (uint8_t)(6 + len);
        if (cmd_len < total) return;
        uint16_t crc = 0xFFFF;
        for (uint8_t i = 2; i < 4 + len; i++)
            crc = _crc_xmodem_update(crc, cmd[i]);
        uint16_t got = (uint16_t)(cmd[4 + len] | ((uint16_t)cmd[5 + len] << 8));
        if (crc != got) { cmd_drop(1); continue; }
        uint8_t type = cmd[2];
        uint8_t payload[CMD_MAX_PAYLOAD];
        for (uint8_t i = 0; i < len; i++)
            payload[i] = cmd[4 + i];
        cmd_drop(total);
        handle_command(type, payload, len);
    }
}

/* ---------------------------------------------------------------- setup/loop */

void setup(void)
{
    cli();
#ifdef ARDUINO
    TIMSK0 = 0;                              /* the core's millis() tick would only add load */
#endif
    DDRB |= (1 << DDB5);                     /* D13 LED */
    LED_OFF();

    /* USART0: 500000 baud, 8N1, RX interrupt; TX through the UDRE interrupt. */
    UCSR0B = 0;
    UCSR0A = (1 << U2X0);                    /* before UBRR0: simavr derives the */
    UCSR0C = (1 << UCSZ01) | (1 << UCSZ00);  /* baud only when UBRR0 is written */
    UBRR0 = EMG_UBRR;
    UCSR0B = (1 << RXEN0) | (1 << TXEN0) | (1 << RXCIE0);

    /* ADC: AVCC reference, A0, /128, auto trigger on Timer1 compare B. */
    DIDR0 = 0x3F;                            /* A0..A5: no digital input buffers */
    ADMUX = ADMUX_BASE;
    ADCSRB = ADTS_T1_COMPB;
    ADCSRA = (1 << ADEN) | (1 << ADPS2) | (1 << ADPS1) | (1 << ADPS0);
    ADCSRA = (1 << ADEN) | (1 << ADSC) | (1 << ADPS2) | (1 << ADPS1) | (1 << ADPS0);
    while (ADCSRA & (1 << ADSC))
        ;                                    /* the first conversion (25 clocks) is thrown away */
    ADCSRA = ADCSRA_RUN | (1 << ADIF);       /* clear ADIF, arm auto trigger + interrupt */

    cfg_nch = DEFAULT_CHANNELS;
    cfg_rate = DEFAULT_RATE;
    set_blink();
    streaming = 1;
    sei();
    send_hello();                            /* next sequence 0 */
    cli();
    timer_start();
    sei();
}

void loop(void)
{
    /* Commands first: they are rare and short. */
    for (;;) {
        uint8_t t = rx_tail;
        if (t == rx_head)
            break;
        uint8_t b = rx_buf[t % RX_LEN];
        rx_tail = t + 1;
        cmd_feed(b);
    }

    if (tx_free() >= 10)
        send_overflow_if_new();

    while (ring_count()) {
        uint8_t n = ring[ring_tail & RING_MASK].nch;
        if (tx_free() < (uint8_t)(10 + 2 * n))
            break;
        send_oldest_instant();
    }

    if (!streaming)
        LED_OFF();

    /* Nothing to do until the next interrupt? Then sleep (idle keeps the
     * timer, ADC and USART running). sei; sleep is atomic on AVR. */
    cli();
    uint8_t work = (rx_head != rx_tail);
    if (ring_head != ring_tail &&
        tx_free() >= (uint8_t)(10 + 2 * ring[ring_tail & RING_MASK].nch))
        work = 1;
    if (dropped != dropped_reported && tx_free() >= 10)
        work = 1;
    if (!work) {
        set_sleep_mode(SLEEP_MODE_IDLE);
        sleep_enable();
        sei();
        sleep_cpu();
        sleep_disable();
    }
    sei();
}

#ifndef ARDUINO
int main(void)
{
    setup();
    for (;;)
        loop();
}
#endif

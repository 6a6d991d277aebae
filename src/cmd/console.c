/* console.c: what `snm run` shows while it trains -- status lines on a terminal, timestamped
 * lines in a log, and the messages -j workers send their parent (see console.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "console.h"

#define LINE_MAX_ 1024       /* a shown line, before it is cut to the terminal's width */
#define MSG_MAX 4000         /* a message to the parent: below PIPE_BUF (4096), so writes are atomic */

typedef struct run_state {
	const char *key;
	int epochs, done, group;
	int ended, started, lines;        /* lines: epoch lines logged in this process */
	double seconds;                   /* epoch time measured in this process ... */
	int n_measured;                   /* ... over this many epochs */
	double last_line;                 /* when its last epoch line was logged */
	double loss, valid, best, test;   /* its last epoch's numbers */
} run_state;

struct snm_console {
	char title[256];
	int n, jobs, live, fd;            /* fd >= 0: forward to the parent */
	void (*sink)(void *ctx, const char *msg);   /* non-NULL: forward to it instead */
	void *sink_ctx;
	double log_every, t0;
	run_state *runs;
	int *slot;                        /* per worker: the run it trains, -1 for none */
	int n_done, n_failed, drawn;      /* drawn: status lines on the screen */
};

#define FORWARDING(k) ((k)->fd >= 0 || (k)->sink != NULL)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

snm_console *snm_console_new(const char *title, int n, int jobs, int live, double log_every)
{
	snm_console *k = calloc(1, sizeof *k);
	if (k == NULL)
		return NULL;
	k->runs = calloc((size_t)(n > 0 ? n : 1), sizeof *k->runs);
	k->slot = malloc((size_t)(jobs > 0 ? jobs : 1) * sizeof *k->slot);
	if (k->runs == NULL || k->slot == NULL) {
		snm_console_free(k);
		return NULL;
	}
	snprintf(k->title, sizeof k->title, "%s", title);
	k->n = n;
	k->jobs = jobs > 0 ? jobs : 1;
	k->live = live;
	k->fd = -1;
	k->log_every = log_every;
	k->t0 = now();
	for (int w = 0; w < k->jobs; ++w)
		k->slot[w] = -1;
	return k;
}

void snm_console_free(snm_console *k)
{
	if (k == NULL)
		return;
	free(k->runs);
	free(k->slot);
	free(k);
}

void snm_console_run(snm_console *k, int j, const char *key, int epochs, int done, int finished,
                     int group)
{
	run_state *r;
	if (k == NULL || j < 0 || j >= k->n)
		return;
	r = &k->runs[j];
	r->key = key;
	r->epochs = epochs;
	r->done = finished ? epochs : done;
	r->group = group;
	if (finished && !r->ended) {
		r->ended = 1;
		k->n_done++;
	}
}

/* ---- estimates and the text of the lines ------------------------------------------------------ */

/* "12s", "3m05s", "2h07m" */
static const char *duration(double s, char *buf, size_t size)
{
	long t = s < 0 ? 0 : (long)(s + 0.5);
	if (t < 60)
		snprintf(buf, size, "%lds", t);
	else if (t < 3600)
		snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
	return buf;
}

/* Seconds per epoch of run j: its own measure, else its group's, else every run's; -1: none. */
static double per_epoch(const snm_console *k, int j)
{
	const run_state *r = &k->runs[j];
	double s[2] = { 0, 0 };
	int m[2] = { 0, 0 };
	if (r->n_measured > 0)
		return r->seconds / r->n_measured;
	for (int i = 0; i < k->n; ++i) {
		const run_state *q = &k->runs[i];
		int g = q->group == r->group ? 0 : 1;
		s[g] += q->seconds;
		m[g] += q->n_measured;
	}
	if (m[0] > 0)
		return s[0] / m[0];
	if (m[0] + m[1] > 0)
		return (s[0] + s[1]) / (m[0] + m[1]);
	return -1;
}

/* The time left: per worker, the sum over its unfinished runs; the largest.  -1: unknown. */
static double eta(const snm_console *k)
{
	double most = 0;
	for (int w = 0; w < k->jobs; ++w) {
		double sum = 0;
		for (int j = w; j < k->n; j += k->jobs) {
			const run_state *r = &k->runs[j];
			double e;
			if (r->ended || r->done >= r->epochs)
				continue;
			if ((e = per_epoch(k, j)) < 0)
				return -1;
			sum += e * (r->epochs - r->done);
		}
		most = sum > most ? sum : most;
	}
	return most;
}

static void pipeline_line(const snm_console *k, char *buf, size_t size)
{
	char a[32], b[32], failed[32] = "";
	double left = eta(k);
	if (k->n_failed > 0)
		snprintf(failed, sizeof failed, " (%d failed)", k->n_failed);
	snprintf(buf, size, "%s: %d/%d runs done%s, elapsed %s, ETA %s", k->title, k->n_done, k->n, failed,
	         duration(now() - k->t0, a, sizeof a), left < 0 ? "?" : duration(left, b, sizeof b));
}

static void worker_line(const snm_console *k, int w, char *buf, size_t size)
{
	char pre[16] = "", a[32];
	int j = k->slot[w];
	if (k->jobs > 1)
		snprintf(pre, sizeof pre, "[%d] ", w + 1);
	if (j < 0) {
		snprintf(buf, size, "%s(idle)", pre);
	} else {
		const run_state *r = &k->runs[j];
		double e = per_epoch(k, j);
		if (r->n_measured == 0)
			snprintf(buf, size, "%s%s  training epoch %d/%d", pre, r->key, r->done + 1, r->epochs);
		else
			snprintf(buf, size, "%s%s  epoch %d/%d  valid %.2f%%  best %.2f%%  ETA %s  (%.3g s/epoch, "
			         "loss %.4f, test %.2f%% at best)", pre, r->key, r->done, r->epochs, r->valid, r->best,
			         duration(e * (r->epochs - r->done), a, sizeof a), e, r->loss, r->test);
	}
}

/* ---- the terminal ------------------------------------------------------------------------------ */

static int width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		return ws.ws_col;
	return 80;
}

/* Erases the status lines; the cursor ends where the first one began. */
static void erase(snm_console *k)
{
	if (!k->live || k->drawn == 0)
		return;
	fputs("\r\033[K", stderr);
	for (int i = 1; i < k->drawn; ++i)
		fputs("\033[A\033[K", stderr);
	fflush(stderr);
	k->drawn = 0;
}

/* Draws the status lines, each cut to the terminal's width; the cursor stays after the last. */
static void draw(snm_console *k)
{
	char line[LINE_MAX_];
	int cols = width() - 1, lines = k->jobs < k->n ? k->jobs : k->n;
	if (!k->live)
		return;
	erase(k);
	for (int w = 0; w <= lines; ++w) {
		if (w < lines)
			worker_line(k, w, line, sizeof line);
		else
			pipeline_line(k, line, sizeof line);
		if ((int)strlen(line) > cols)
			line[cols] = '\0';
		fprintf(stderr, "%s%s", w > 0 ? "\n" : "", line);
	}
	fflush(stderr);
	k->drawn = lines + 1;
}

/* ---- the log ----------------------------------------------------------------------------------- */

/* A log line on stdout: "<UTC time> <text>". */
static void logged(const char *text)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s %s\n", ts, text);
	fflush(stdout);
}

/* ---- forwarding -------------------------------------------------------------------------------- */

/* Writes one message to the parent; 0, or -1 when the parent is gone. */
static int send_msg(snm_console *k, const char *msg)
{
	size_t n = strlen(msg), off = 0;
	if (k->sink != NULL) {
		k->sink(k->sink_ctx, msg);
		return 0;
	}
	while (off < n) {
		ssize_t w = write(k->fd, msg + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* ---- events ------------------------------------------------------------------------------------ */

void snm_console_progress(snm_console *k, int j, const snm_train_progress *p)
{
	run_state *r;
	char line[LINE_MAX_];
	if (k == NULL || j < 0 || j >= k->n)
		return;
	if (FORWARDING(k)) {
		char msg[MSG_MAX];
		snprintf(msg, sizeof msg, "%c %d %d %d %.17g %.17g %.17g %.17g %.17g %.17g %ld\n",
		         p->event == SNM_PROGRESS_START ? 'S' : 'E', j, p->epoch, p->epochs, p->loss,
		         p->train_error, p->valid_error, p->best_valid, p->test_at_best, p->seconds, p->partial);
		send_msg(k, msg);
		return;
	}
	r = &k->runs[j];
	r->done = p->epoch;
	r->epochs = p->epochs;
	k->slot[j % k->jobs] = j;
	if (p->event == SNM_PROGRESS_START) {
		r->started = 1;
		if (!k->live) {
			if (p->partial > 0)
				snprintf(line, sizeof line, "%s resumes in epoch %d/%d after step %ld", r->key,
				         p->epoch + 1, p->epochs, p->partial);
			else if (p->epoch == 0)
				snprintf(line, sizeof line, "%s starts: %d epochs", r->key, p->epochs);
			else
				snprintf(line, sizeof line, "%s resumes after epoch %d/%d", r->key, p->epoch, p->epochs);
			logged(line);
		}
		draw(k);
		return;
	}
	r->seconds += p->seconds;
	r->n_measured++;
	r->loss = p->loss;
	r->valid = p->valid_error;
	r->best = p->best_valid;
	r->test = p->test_at_best;
	if (!k->live && (r->lines == 0 || p->epoch == p->epochs || now() - r->last_line >= k->log_every)) {
		snprintf(line, sizeof line, "%s epoch %d/%d loss %.4f valid %.2f%% best %.2f%% %.3g s/epoch",
		         r->key, p->epoch, p->epochs, p->loss, p->valid_error, p->best_valid,
		         r->seconds / r->n_measured);
		logged(line);
		r->lines++;
		r->last_line = now();
	}
	draw(k);
}

void snm_console_end(snm_console *k, int j, int ok)
{
	run_state *r;
	char line[LINE_MAX_];
	if (k == NULL || j < 0 || j >= k->n)
		return;
	if (FORWARDING(k)) {
		char msg[64];
		snprintf(msg, sizeof msg, "X %d %d\n", j, ok);
		send_msg(k, msg);
		return;
	}
	r = &k->runs[j];
	if (k->slot[j % k->jobs] == j)
		k->slot[j % k->jobs] = -1;
	if (r->ended)
		return;
	r->ended = 1;
	k->n_done++;
	k->n_failed += !ok;
	if (!k->live && r->started) {
		pipeline_line(k, line, sizeof line);
		logged(line);
	}
	draw(k);
}

/* A line on stdout (err 0) or stderr (1), above the status lines, or to the parent. */
static void put_line(snm_console *k, int err, const char *fmt, va_list ap)
{
	char msg[MSG_MAX];
	int n = snprintf(msg, 3, "%c ", err ? 'W' : 'O');
	vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
	for (char *c = msg; *c; ++c)        /* one line, whatever the message held */
		if (*c == '\n')
			*c = ' ';
	if (k != NULL && FORWARDING(k)) {
		strcat(msg, "\n");
		if (send_msg(k, msg) == 0)
			return;
		msg[strlen(msg) - 1] = '\0';     /* the parent is gone: say it here */
	}
	if (k != NULL)
		erase(k);
	fprintf(err ? stderr : stdout, "%s\n", msg + n);
	fflush(err ? stderr : stdout);
	if (k != NULL && !FORWARDING(k))
		draw(k);
}

void snm_console_out(snm_console *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put_line(k, 0, fmt, ap);
	va_end(ap);
}

void snm_console_err(snm_console *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put_line(k, 1, fmt, ap);
	va_end(ap);
}

void snm_console_forward(snm_console *k, int fd)
{
	if (k != NULL) {
		k->fd = fd;
		k->drawn = 0;                    /* the parent's lines, not this process's */
	}
}

void snm_console_sink(snm_console *k, void (*fn)(void *ctx, const char *msg), void *ctx)
{
	if (k != NULL) {
		k->sink = fn;
		k->sink_ctx = ctx;
		k->drawn = 0;
	}
}

/* Shows one message of a worker (a line without its newline). */
void snm_console_show(snm_console *k, const char *m)
{
	snm_train_progress p;
	int j, ok;
	char kind = m[0];
	memset(&p, 0, sizeof p);
	if ((kind == 'S' || kind == 'E')
	    && sscanf(m + 1, "%d %d %d %lf %lf %lf %lf %lf %lf %ld", &j, &p.epoch, &p.epochs, &p.loss,
	              &p.train_error, &p.valid_error, &p.best_valid, &p.test_at_best, &p.seconds,
	              &p.partial) == 10) {
		p.event = kind == 'S' ? SNM_PROGRESS_START : SNM_PROGRESS_EPOCH;
		if (j >= 0 && j < k->n) {
			p.key = k->runs[j].key;
			snm_console_progress(k, j, &p);
		}
	} else if (kind == 'X' && sscanf(m + 1, "%d %d", &j, &ok) == 2) {
		snm_console_end(k, j, ok);
	} else if ((kind == 'O' || kind == 'W') && m[1] == ' ') {
		if (kind == 'O')
			snm_console_out(k, "%s", m + 2);
		else
			snm_console_err(k, "%s", m + 2);
	}
}

void snm_console_pump(snm_console *k, int fd)
{
	char buf[2 * MSG_MAX + 1];
	size_t have = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
		char *start = buf, *nl;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = '\0';
		while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
			*nl = '\0';
			snm_console_show(k, start);
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof buf - 1)      /* a line longer than any message: drop it */
			have = 0;
	}
}

void snm_console_close(snm_console *k)
{
	if (k != NULL)
		erase(k);
}

/*
 * agent_notify.c - systemd service notification (libsystemd's sd_notify, the
 * only libsystemd user): READY=1 once the agent watches its folders,
 * STATUS=<counts> when they change, WATCHDOG=1 at a third of $WATCHDOG_USEC
 * when the unit asks for a watchdog, STOPPING=1 on the way out. Nothing is
 * sent unless the options ask for it and $NOTIFY_SOCKET is set; only then is
 * libsystemd opened (dlopen), so that no other command loads it and its
 * libgcrypt/liblzma/libcap chain at start-up.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "agent_internal.h"
#include "pipeline/core.h"

/* The two functions taken from libsystemd (filled once, then read-only). */
static struct {
  __typeof__(sd_notify) *notify;
  __typeof__(sd_watchdog_enabled) *watchdog_enabled;
} sd;
static const struct pl_dl_fn SD_FNS[] = {
    {"sd_notify", offsetof(__typeof__(sd), notify)},
    {"sd_watchdog_enabled", offsetof(__typeof__(sd), watchdog_enabled)},
};
static pthread_once_t sd_once = PTHREAD_ONCE_INIT;
static int sd_failed;
static char sd_msg[200];

static void sd_open(void) {
  sd_failed = pl_dl_open_table("libsystemd.so.0", SD_FNS, sizeof SD_FNS / sizeof SD_FNS[0], &sd,
                               sizeof sd, NULL, sd_msg, sizeof sd_msg) != 0;
}

void ag_notify_init(struct pl_agent *a) {
  const char *sock = getenv("NOTIFY_SOCKET");
  a->notify_on = a->o.notify && sock && *sock;
  a->watchdog_usec = 0;
  if (!a->notify_on) return;
  pthread_once(&sd_once, sd_open);
  if (sd_failed) {
    a->notify_on = 0;
    ag_event_path(a, "warning", NULL, 0,
                  "no service notification: libsystemd cannot be loaded (%s); install it "
                  "(Debian: apt install libsystemd0)",
                  sd_msg);
    return;
  }
  uint64_t usec = 0;
  if (sd.watchdog_enabled(0, &usec) > 0) a->watchdog_usec = usec;
}

void ag_notify(struct pl_agent *a, const char *fmt, ...) {
  if (!a->notify_on) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (sd.notify(0, buf) < 0) ag_event_path(a, "warning", NULL, 0, "sd_notify failed");
}

void ag_notify_tick(struct pl_agent *a, const pl_agent_counts *c) {
  if (!a->notify_on) return;
  double now = ag_mono_s();
  if (a->watchdog_usec && now - a->last_watchdog >= (double)a->watchdog_usec / 3e6) {
    a->last_watchdog = now;
    sd.notify(0, "WATCHDOG=1");
  }
  char st[256];
  snprintf(st, sizeof st,
           "%llu verified, %llu in progress, %llu failed, %llu refused, %llu differ; %llu "
           "uploaded this run",
           (unsigned long long)c->verified, (unsigned long long)c->pending,
           (unsigned long long)c->failed, (unsigned long long)c->refused,
           (unsigned long long)c->differs, (unsigned long long)c->uploads);
  if (strcmp(st, a->last_status) == 0) return;
  snprintf(a->last_status, sizeof a->last_status, "%s", st);
  ag_notify(a, "STATUS=%s", st);
}

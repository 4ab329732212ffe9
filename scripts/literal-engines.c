/*
 * literal-engines.c — how fast can Hyperscan find a set of literal strings in a log file?
 *
 * Measures, on one core, with the whole log file already in memory (I/O excluded):
 *
 *   memchr      memchr('\n') over the whole buffer, counting lines: the reading floor.
 *   hs-block    hs_scan() on consecutive 1 MiB blocks; every match is counted (no
 *               HS_FLAG_SINGLEMATCH, callback returns 0). Literals straddling a block boundary
 *               are missed; this is a speed figure, not a correct count.
 *   hs-line     hs_scan() on each line separately (lines found with memchr, newline excluded);
 *               counts lines with at least one match. The callback returns 1 on the first match,
 *               so the scan of that line stops there, as a per-line "does any literal occur?"
 *               filter would use it.
 *   hs-line+N   as hs-line, but scans only the part of each line after its first N bytes
 *               (default 40: a stand-in for skipping the klog header); shorter lines are not
 *               scanned.
 *
 * Every method is repeated (default 5 times); the best and median are reported in GB/s
 * (10^9 bytes per second), always computed over the whole file's size, so the figures of all
 * methods are comparable. Time is CLOCK_MONOTONIC. The hs-* methods are run once per literal list.
 *
 * Literal lists: one literal per line, taken as raw bytes (no regex, no escaping; trailing
 * spaces count; a final newline is not part of the last literal). They are compiled with
 * hs_compile_lit_multi() in HS_MODE_BLOCK, flags 0, id = line number.
 *
 * Build:  cc -O2 -o /tmp/literal-engines scripts/literal-engines.c -lhs
 * Run:    taskset -c 1 /tmp/literal-engines [-n REPS] [-s SKIP] \
 *             -L all=/tmp/literals.txt -L main=/tmp/literals-main.txt \
 *             .bench-cache/klog.log .bench-cache/mixed.log .bench-cache/docker-json.log
 *
 * Output: one tab-separated row per workload x method x list:
 *   workload  method  list  best_GB/s  median_GB/s  count
 * where count is lines (memchr), matches (hs-block) or matching lines (hs-line*).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK_SIZE (1u << 20)
#define MAX_LISTS 8
#define MAX_REPS 101

struct list {
    const char *name;
    hs_database_t *db;
    hs_scratch_t *scratch;
    unsigned count;
};

struct buffer {
    const char *data;
    size_t len;
};

static void die(const char *fmt, const char *arg) {
    fprintf(stderr, "literal-engines: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read a whole file into one malloc'd buffer (one spare byte, NUL-terminated). */
static struct buffer read_file(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) die("cannot stat %s", path);
    size_t size = (size_t)st.st_size;
    char *data = malloc(size + 1);
    if (!data) die("out of memory reading %s", path);
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("cannot read %s", path);
        got += (size_t)n;
    }
    close(fd);
    data[size] = '\0';
    return (struct buffer){data, size};
}

/* Compile the file's lines as literals. */
static struct list load_list(const char *name, const char *path) {
    struct buffer text = read_file(path);
    size_t cap = 64, n = 0;
    const char **exprs = malloc(cap * sizeof *exprs);
    size_t *lens = malloc(cap * sizeof *lens);
    for (const char *p = text.data, *end = text.data + text.len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        if (nl > p) { /* an empty line is not a literal */
            if (n == cap) {
                cap *= 2;
                exprs = realloc(exprs, cap * sizeof *exprs);
                lens = realloc(lens, cap * sizeof *lens);
            }
            exprs[n] = p;
            lens[n] = (size_t)(nl - p);
            n++;
        }
        p = nl + 1;
    }
    if (n == 0) die("no literals in %s", path);
    unsigned *flags = calloc(n, sizeof *flags);
    unsigned *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (unsigned)i;

    struct list l = {name, NULL, NULL, (unsigned)n};
    hs_compile_error_t *err = NULL;
    double t0 = now();
    if (hs_compile_lit_multi(exprs, flags, ids, lens, (unsigned)n, HS_MODE_BLOCK, NULL, &l.db,
                             &err) != HS_SUCCESS)
        die("hs_compile_lit_multi: %s", err ? err->message : "failed");
    double t1 = now();
    if (hs_alloc_scratch(l.db, &l.scratch) != HS_SUCCESS) die("hs_alloc_scratch failed%s", "");
    size_t dbsize = 0;
    hs_database_size(l.db, &dbsize);
    fprintf(stderr, "# list %s: %zu literals from %s, compiled in %.3f s, database %zu bytes\n",
            name, n, path, t1 - t0, dbsize);
    free(exprs), free(lens), free(flags), free(ids), free((void *)text.data);
    return l;
}

/* ---- the methods; each returns its count ---- */

static unsigned long long count_lines(const struct buffer *b, const struct list *unused) {
    (void)unused;
    unsigned long long lines = 0;
    const char *p = b->data, *end = b->data + b->len;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

static int on_match_count(unsigned id, unsigned long long from, unsigned long long to,
                          unsigned flags, void *ctx) {
    (void)id, (void)from, (void)to, (void)flags;
    (*(unsigned long long *)ctx)++;
    return 0; /* keep scanning */
}

static int on_match_stop(unsigned id, unsigned long long from, unsigned long long to,
                         unsigned flags, void *ctx) {
    (void)id, (void)from, (void)to, (void)flags;
    *(int *)ctx = 1;
    return 1; /* first match is enough: stop scanning this line */
}

static unsigned long long hs_blocks(const struct buffer *b, const struct list *l) {
    unsigned long long matches = 0;
    for (size_t off = 0; off < b->len; off += BLOCK_SIZE) {
        size_t n = b->len - off < BLOCK_SIZE ? b->len - off : BLOCK_SIZE;
        if (hs_scan(l->db, b->data + off, (unsigned)n, 0, l->scratch, on_match_count,
                    &matches) != HS_SUCCESS)
            die("hs_scan failed%s", "");
    }
    return matches;
}

static size_t skip_bytes = 40;

static unsigned long long hs_lines_from(const struct buffer *b, const struct list *l,
                                        size_t skip) {
    unsigned long long hits = 0;
    const char *p = b->data, *end = b->data + b->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        size_t len = (size_t)(nl - p);
        if (len > skip) {
            int hit = 0;
            hs_error_t rc = hs_scan(l->db, p + skip, (unsigned)(len - skip), 0, l->scratch,
                                    on_match_stop, &hit);
            if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) die("hs_scan failed%s", "");
            hits += (unsigned long long)hit;
        }
        p = nl + 1;
    }
    return hits;
}

static unsigned long long hs_lines(const struct buffer *b, const struct list *l) {
    return hs_lines_from(b, l, 0);
}

static unsigned long long hs_lines_skip(const struct buffer *b, const struct list *l) {
    return hs_lines_from(b, l, skip_bytes);
}

/* ---- timing ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run(const char *workload, const char *method, const struct buffer *b,
                const struct list *l,
                unsigned long long (*fn)(const struct buffer *, const struct list *), int reps) {
    double secs[MAX_REPS];
    unsigned long long count = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        unsigned long long c = fn(b, l);
        secs[r] = now() - t0;
        if (r > 0 && c != count) die("count changed between repetitions in %s", method);
        count = c;
    }
    qsort(secs, (size_t)reps, sizeof secs[0], cmp_double);
    double median = reps % 2 ? secs[reps / 2] : (secs[reps / 2 - 1] + secs[reps / 2]) / 2;
    printf("%s\t%s\t%s\t%.3f\t%.3f\t%llu\n", workload, method, l ? l->name : "-",
           (double)b->len / secs[0] / 1e9, (double)b->len / median / 1e9, count);
    fflush(stdout);
}

static void usage(void) {
    fprintf(stderr, "usage: literal-engines [-n REPS] [-s SKIP] -L NAME=LITERALS.txt [-L ...] "
                    "LOGFILE...\n");
    exit(2);
}

int main(int argc, char **argv) {
    int reps = 5;
    struct list lists[MAX_LISTS];
    int nlists = 0, opt;
    while ((opt = getopt(argc, argv, "n:s:L:")) != -1) {
        switch (opt) {
        case 'n':
            reps = atoi(optarg);
            if (reps < 1 || reps > MAX_REPS) usage();
            break;
        case 's': skip_bytes = (size_t)strtoul(optarg, NULL, 10); break;
        case 'L': {
            char *eq = strchr(optarg, '=');
            if (!eq || nlists == MAX_LISTS) usage();
            *eq = '\0';
            lists[nlists++] = load_list(optarg, eq + 1);
            break;
        }
        default: usage();
        }
    }
    if (nlists == 0 || optind == argc) usage();
    fprintf(stderr, "# hyperscan %s, %d repetitions, block %u bytes, skip %zu bytes\n",
            hs_version(), reps, BLOCK_SIZE, skip_bytes);
    if (hs_valid_platform() != HS_SUCCESS) die("hyperscan: unsupported CPU%s", "");

    char skip_method[32];
    snprintf(skip_method, sizeof skip_method, "hs-line+%zu", skip_bytes);
    printf("workload\tmethod\tlist\tbest_GB/s\tmedian_GB/s\tcount\n");
    for (int f = optind; f < argc; f++) {
        struct buffer b = read_file(argv[f]);
        const char *workload = strrchr(argv[f], '/') ? strrchr(argv[f], '/') + 1 : argv[f];
        if (b.len > 0xffffffffu) die("%s: longer than 4 GiB", argv[f]);
        run(workload, "memchr", &b, NULL, count_lines, reps);
        for (int i = 0; i < nlists; i++) run(workload, "hs-block", &b, &lists[i], hs_blocks, reps);
        for (int i = 0; i < nlists; i++) run(workload, "hs-line", &b, &lists[i], hs_lines, reps);
        for (int i = 0; i < nlists; i++)
            run(workload, skip_method, &b, &lists[i], hs_lines_skip, reps);
        free((void *)b.data);
    }
    for (int i = 0; i < nlists; i++) {
        hs_free_scratch(lists[i].scratch);
        hs_free_database(lists[i].db);
    }
    return 0;
}

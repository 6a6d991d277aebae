/* store.c: the HDF5 run file: atomic save, all-or-nothing load, quick attribute reads (see
 * store.h for the file layout and the contracts).
 *
 * Every public function switches HDF5's error printing off for its duration, opens its own
 * property lists, types and spaces, and closes every hid_t it opened on every path (goto cleanup).
 * A failed HDF5 call is reported at once, while HDF5's error stack still holds the reason, as
 * "<path>: cannot <operation> '<object>' (HDF5: <innermost reason>)", on one line, or as
 * "<path>: cannot <operation>: <strerror>" when HDF5 failed on a system call.  A save builds the
 * file in memory and writes it with write(2), so that a full disk never fails inside HDF5.
 *
 * Determinism: object time stamps are off on the file (root group), group and dataset creation
 * property lists; the format bounds are fixed (earliest .. 1.8); chunked metrics get an explicit
 * fill value; and objects are created in the order the record lists them.  Equal records hence
 * give equal bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hdf5.h>
#include "snm/rng.h"
#include "fs.h"
#include "probe.h"
#include "seal.h"
#include "store.h"

#define STORE_FORMAT         "snm-run"
#define STORE_FORMAT_VERSION 2          /* 1: no seal, variable-length strings (read, never written) */
#define STORE_MAX_BYTES      ((size_t)1 << 32)   /* the largest run file a reader takes in */
#define METRICS_GROUP        "/metrics"
#define RNG_GROUP            "/checkpoint/rng"
#define METRICS_CHUNK        256        /* rows per chunk of a metrics column (2 KiB) */

/* H5Pset_file_locking exists from 1.10.7 on the 1.10 branch and from 1.12.1 on. */
#if (H5_VERSION_GE(1, 10, 7) && !H5_VERSION_GE(1, 12, 0)) || H5_VERSION_GE(1, 12, 1)
#define STORE_HAVE_FILE_LOCKING 1
#endif

/* ---- errors and HDF5 housekeeping --------------------------------------------------------- */

typedef struct ctx {
	const char *path;      /* the run file named in messages */
	snm_error *err;
	size_t bytes;          /* reading: the file's size, the bound of every size read from it */
	int version;           /* reading: its format_version (1 or 2) */
	H5E_auto2_t old_fn;    /* HDF5's error printer before this call, restored after */
	void *old_data;
	int restore;
} ctx;

static void ctx_begin(ctx *c, const char *path, snm_error *err)
{
	c->path = path;
	c->err = err;
	c->bytes = 0;
	c->version = 0;
	c->restore = H5Eget_auto2(H5E_DEFAULT, &c->old_fn, &c->old_data) >= 0;
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void ctx_end(ctx *c)
{
	if (c->restore)
		H5Eset_auto2(H5E_DEFAULT, c->old_fn, c->old_data);
}

typedef struct reason { char *buf; size_t size; int sys; } reason;

/* The innermost entry of HDF5's error stack is the most specific reason; a system error
 * ("..., errno = 28, ...") anywhere on the stack is the reason a user can act on. */
static herr_t reason_walk(unsigned n, const H5E_error2_t *e, void *data)
{
	reason *r = data;
	const char *s = e->desc != NULL ? strstr(e->desc, "errno = ") : NULL;
	if (s != NULL && r->sys == 0 && atoi(s + 8) > 0)
		r->sys = atoi(s + 8);
	if (n == 0 && e->desc != NULL)
		snprintf(r->buf, r->size, "%s", e->desc);
	return 0;
}

/* HDF5's text on one line: "time = <ctime>\n, " dropped, other line ends made spaces. */
static void one_line(char *s)
{
	char *t = strstr(s, "time = "), *w;
	if (t != NULL && (w = strchr(t, '\n')) != NULL) {
		w += w[1] == ',' ? 2 : 1;
		while (*w == ' ')
			++w;
		memmove(t, w, strlen(w) + 1);
	}
	for (w = s; *w; ++w)
		if (*w == '\n' || *w == '\r')
			*w = ' ';
}

/* SNM_EHDF5 "<path>: <what> (HDF5: <reason>)", or SNM_EIO "<path>: <what>: <strerror>" when HDF5
 * failed on a system call.  Always one line. */
static int h5fail(ctx *c, const char *fmt, ...)
{
	char what[256], why[200] = "";
	reason r = { why, sizeof why, 0 };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, reason_walk, &r);
	one_line(what);
	one_line(why);
	if (r.sys > 0)
		return SNM_FAIL(c->err, SNM_EIO, "%s: %s: %s", c->path, what, strerror(r.sys));
	if (why[0] != '\0')
		return SNM_FAIL(c->err, SNM_EHDF5, "%s: %s (HDF5: %s)", c->path, what, why);
	return SNM_FAIL(c->err, SNM_EHDF5, "%s: %s", c->path, what);
}

/* Code (SNM_EIO, SNM_EINVAL, ...) "<path>: <what>". */
static int fail(ctx *c, int code, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return SNM_FAIL(c->err, code, "%s: %s", c->path, what);
}

/* Closes any identifier this file opens; negative ids are ignored. */
static void h5close(hid_t id)
{
	if (id < 0)
		return;
	switch (H5Iget_type(id)) {
	case H5I_FILE:        H5Fclose(id); break;
	case H5I_GROUP:       H5Gclose(id); break;
	case H5I_DATASET:     H5Dclose(id); break;
	case H5I_ATTR:        H5Aclose(id); break;
	case H5I_DATASPACE:   H5Sclose(id); break;
	case H5I_DATATYPE:    H5Tclose(id); break;
	case H5I_GENPROP_LST: H5Pclose(id); break;
	default:              break;
	}
}

/* The fixed-length UTF-8 string type of n bytes, NUL included, that holds a string of length
 * n - 1.  Format 1 wrote variable-length strings, whose values live in the global heap: libhdf5's
 * reader of that heap crashes or spins on a damaged byte, so format 2 keeps every string in the
 * object header that names it. */
static hid_t str_type(size_t n)
{
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t >= 0 && (H5Tset_size(t, n) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0
	               || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
		H5Tclose(t);
		t = H5I_INVALID_HID;
	}
	return t;
}

/* File access: the core driver without a backing store, no file locks, and a strong close so
 * that H5Fclose really closes the file.  Reading, HDF5 parses the image that run_open read and
 * checked (H5Pset_file_image), never the file itself.  Writing, HDF5 builds the file in memory
 * and never meets a write error itself (a failed write inside HDF5 leaves its file half closed,
 * and HDF5 then closes it again at exit and crashes); snm_store_save writes the image with plain
 * write(2). */
static hid_t fapl_new(int for_write)
{
	hid_t p = H5Pcreate(H5P_FILE_ACCESS);
	if (p < 0)
		return p;
	if (H5Pset_fapl_core(p, 1 << 20, 0) < 0
	    || H5Pset_fclose_degree(p, H5F_CLOSE_STRONG) < 0
	    || (for_write && H5Pset_libver_bounds(p, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18) < 0)
#ifdef STORE_HAVE_FILE_LOCKING
	    || H5Pset_file_locking(p, 0, 1) < 0
#endif
	) {
		H5Pclose(p);
		return H5I_INVALID_HID;
	}
	return p;
}

/* 1 when every component of the absolute path exists as a link, 0 when one does not. */
static htri_t path_exists(hid_t fid, const char *path)
{
	char buf[1024];
	size_t n = strlen(path);
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; ++i) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char keep = buf[i];
			htri_t e;
			buf[i] = '\0';
			e = H5Lexists(fid, buf, H5P_DEFAULT);
			buf[i] = keep;
			if (e <= 0)
				return e;
		}
	}
	return 1;
}

/* ---- argument checks ---------------------------------------------------------------------- */

static int bad_dataset_name(const char *s)
{
	return s == NULL || s[0] == '\0' || strchr(s, '/') != NULL || strcmp(s, ".") == 0;
}

/* Absolute, no empty components, no "." components, not the root itself. */
static int bad_group_path(const char *s)
{
	if (s == NULL || s[0] != '/' || s[1] == '\0' || strlen(s) >= 1000)
		return 1;
	for (const char *p = s; *p; ) {
		const char *q = strchr(p + 1, '/');
		size_t len = q ? (size_t)(q - p - 1) : strlen(p + 1);
		if (len == 0 || (len == 1 && p[1] == '.'))
			return 1;
		if (q == NULL)
			break;
		p = q;
	}
	return 0;
}

/* 1 when path is base or lies inside it. */
static int path_within(const char *path, const char *base)
{
	size_t n = strlen(base);
	return strncmp(path, base, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Checks the parts of run that a save (all fields) or a load (no strings) uses. */
static int check_run(ctx *c, const snm_store_run *run, int for_save)
{
	int n_str = for_save ? run->n_str : 0;
	if (run->n_str < 0 || run->n_int < 0 || run->n_groups < 0 || run->n_rng < 0 || run->n_tables < 0)
		return fail(c, SNM_EINVAL, "negative count in the run record");
	if (run->n_tables > 0 && (run->table_paths == NULL || run->tables == NULL))
		return fail(c, SNM_EINVAL, "run record has a count without its arrays");
	for (int t = 0; t < run->n_tables; ++t) {
		const char *tp = run->table_paths[t];
		if (bad_group_path(tp))
			return fail(c, SNM_EINVAL, "bad table path '%s' (absolute, like \"/checkpoint/partial/sums\")",
			            tp ? tp : "(null)");
		if (path_within(tp, METRICS_GROUP) || path_within(tp, RNG_GROUP))
			return fail(c, SNM_EINVAL, "table path '%s' is reserved for the store", tp);
		if (run->tables[t] == NULL)
			return fail(c, SNM_EINVAL, "table '%s' has no table", tp);
		for (int g = 0; g < run->n_groups; ++g)
			if (path_within(tp, run->group_paths[g]) || path_within(run->group_paths[g], tp))
				return fail(c, SNM_EINVAL, "table '%s' and group '%s' overlap", tp, run->group_paths[g]);
		for (int k = 0; k < t; ++k)
			if (path_within(tp, run->table_paths[k]) || path_within(run->table_paths[k], tp))
				return fail(c, SNM_EINVAL, "tables '%s' and '%s' overlap", run->table_paths[k], tp);
	}
	if ((n_str > 0 && (run->str_names == NULL || run->str_values == NULL))
	    || (run->n_int > 0 && (run->int_names == NULL || (for_save && run->int_values == NULL)))
	    || (run->n_groups > 0 && (run->group_paths == NULL || run->groups == NULL))
	    || (run->n_rng > 0 && (run->rng_names == NULL || run->rngs == NULL)))
		return fail(c, SNM_EINVAL, "run record has a count without its arrays");
	for (int i = 0; i < n_str + run->n_int; ++i) {
		const char *s = i < n_str ? run->str_names[i] : run->int_names[i - n_str];
		if (s == NULL || s[0] == '\0')
			return fail(c, SNM_EINVAL, "root attribute without a name");
		if (strcmp(s, "format") == 0 || strcmp(s, "format_version") == 0)
			return fail(c, SNM_EINVAL, "root attribute '%s' is reserved for the store", s);
		if (i < n_str && run->str_values[i] == NULL)
			return fail(c, SNM_EINVAL, "root attribute '%s' has no value", s);
		for (int k = 0; k < i; ++k) {
			const char *t = k < n_str ? run->str_names[k] : run->int_names[k - n_str];
			if (strcmp(s, t) == 0)
				return fail(c, SNM_EINVAL, "root attribute '%s' is given twice", s);
		}
	}
	for (int g = 0; g < run->n_groups; ++g) {
		const char *gp = run->group_paths[g];
		if (bad_group_path(gp))
			return fail(c, SNM_EINVAL, "bad group path '%s' (absolute, like \"/best\")",
			            gp ? gp : "(null)");
		if (path_within(gp, METRICS_GROUP) || path_within(gp, RNG_GROUP))
			return fail(c, SNM_EINVAL, "group path '%s' is reserved for the store", gp);
		if (run->groups[g] == NULL)
			return fail(c, SNM_EINVAL, "group '%s' has no registry", gp);
		for (int k = 0; k < g; ++k)
			if (strcmp(gp, run->group_paths[k]) == 0)
				return fail(c, SNM_EINVAL, "group '%s' is given twice", gp);
		for (int i = 0; i < snm_params_count(run->groups[g]); ++i) {
			const char *e = snm_params_at(run->groups[g], i)->name;
			if (bad_dataset_name(e))
				return fail(c, SNM_EINVAL, "group '%s': entry name '%s' cannot be a dataset name "
				            "(no '/', not '.')", gp, e ? e : "(null)");
		}
	}
	for (int i = 0; i < run->n_rng; ++i) {
		const char *s = run->rng_names[i];
		if (bad_dataset_name(s))
			return fail(c, SNM_EINVAL, "bad random stream name '%s' (non-empty, no '/', not '.')",
			            s ? s : "(null)");
		if (run->rngs[i] == NULL)
			return fail(c, SNM_EINVAL, "random stream '%s' is NULL", s);
		for (int k = 0; k < i; ++k)
			if (strcmp(s, run->rng_names[k]) == 0)
				return fail(c, SNM_EINVAL, "random stream '%s' is given twice", s);
	}
	return SNM_OK;
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct writer {
	ctx *c;
	hid_t fid;
	hid_t gcpl;        /* groups: no time stamps */
	hid_t dcpl;        /* contiguous datasets: no time stamps */
	hid_t dcpl_m;      /* metrics columns: chunked, fill 0, no time stamps */
	hid_t scalar;      /* scalar dataspace for attributes */
} writer;

static int attr_write_str(writer *w, hid_t obj, const char *where, const char *name, const char *value)
{
	int rc = SNM_OK;
	size_t n = strlen(value);
	hid_t t, a = H5I_INVALID_HID;
	if (n > SNM_STORE_MAX_STR)
		return fail(w->c, SNM_EINVAL, "attribute '%s' on '%s' is %zu bytes, more than the %d a run "
		            "file's strings may have", name, where, n, SNM_STORE_MAX_STR);
	if ((t = str_type(n + 1)) < 0)
		return h5fail(w->c, "cannot make a string type for attribute '%s' on '%s'", name, where);
	if ((a = H5Acreate2(obj, name, t, w->scalar, H5P_DEFAULT, H5P_DEFAULT)) < 0)
		rc = h5fail(w->c, "cannot create attribute '%s' on '%s'", name, where);
	else if (H5Awrite(a, t, value) < 0)
		rc = h5fail(w->c, "cannot write attribute '%s' on '%s'", name, where);
	h5close(a);
	H5Tclose(t);
	return rc;
}

static int attr_write_i64(writer *w, hid_t obj, const char *where, const char *name, int64_t value)
{
	int rc = SNM_OK;
	hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, w->scalar, H5P_DEFAULT, H5P_DEFAULT);
	if (a < 0)
		return h5fail(w->c, "cannot create attribute '%s' on '%s'", name, where);
	if (H5Awrite(a, H5T_NATIVE_INT64, &value) < 0)
		rc = h5fail(w->c, "cannot write attribute '%s' on '%s'", name, where);
	H5Aclose(a);
	return rc;
}

/* Opens the group at the absolute path, creating missing components with w->gcpl (rather than
 * through HDF5's intermediate-group option, whose groups would carry time stamps). */
static int group_make(writer *w, const char *path, hid_t *out)
{
	char buf[1024];
	hid_t cur = H5I_INVALID_HID;
	size_t n = strlen(path);
	*out = H5I_INVALID_HID;
	if (n >= sizeof buf)
		return fail(w->c, SNM_EINVAL, "group path '%.60s...' is too long", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; ++i) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char keep = buf[i];
			hid_t g;
			htri_t e;
			buf[i] = '\0';
			e = H5Lexists(w->fid, buf, H5P_DEFAULT);
			if (e < 0) {
				int rc = h5fail(w->c, "cannot look up '%s'", buf);   /* before closing: */
				h5close(cur);                                          /* that clears the stack */
				return rc;
			}
			g = e > 0 ? H5Gopen2(w->fid, buf, H5P_DEFAULT)
			          : H5Gcreate2(w->fid, buf, H5P_DEFAULT, w->gcpl, H5P_DEFAULT);
			if (g < 0) {
				int rc = h5fail(w->c, "cannot %s group '%s'", e > 0 ? "open" : "create", buf);
				h5close(cur);
				return rc;
			}
			h5close(cur);
			cur = g;
			buf[i] = keep;
		}
	}
	*out = cur;
	return SNM_OK;
}

/* One dataset of type ftype with the given shape, filled from data (memory type mtype). */
static int dataset_write(writer *w, hid_t gid, const char *gpath, const char *name, hid_t ftype,
                         hid_t mtype, int rank, const hsize_t *dims, const hsize_t *maxdims,
                         hid_t dcpl, const void *data, const char *kind, const char *type_attr)
{
	int rc = SNM_OK;
	hid_t space = H5I_INVALID_HID, d = H5I_INVALID_HID;
	hsize_t len = 1;
	for (int i = 0; i < rank; ++i)
		len *= dims[i];
	space = H5Screate_simple(rank, dims, maxdims);
	if (space < 0) {
		rc = h5fail(w->c, "cannot make the dataspace of '%s/%s'", gpath, name);
		goto out;
	}
	d = H5Dcreate2(gid, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	if (d < 0) {
		rc = h5fail(w->c, "cannot create dataset '%s/%s'", gpath, name);
		goto out;
	}
	if (len > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
		rc = h5fail(w->c, "cannot write dataset '%s/%s'", gpath, name);
		goto out;
	}
	if (kind != NULL && (rc = attr_write_str(w, d, name, "kind", kind)) != SNM_OK)
		goto out;
	if (type_attr != NULL && (rc = attr_write_str(w, d, name, "type", type_attr)) != SNM_OK)
		goto out;
out:
	h5close(d);
	h5close(space);
	return rc;
}

/* A table (metrics.h) as the group gpath of float64 columns: /metrics, or one of run->tables. */
static int write_metrics(writer *w, const char *gpath, const snm_metrics *m)
{
	int rc;
	hid_t g;
	hsize_t dims[1] = { snm_metrics_rows(m) }, maxdims[1] = { H5S_UNLIMITED };
	if ((rc = group_make(w, gpath, &g)) != SNM_OK)
		return rc;
	for (int c = 0; c < snm_metrics_cols(m) && rc == SNM_OK; ++c)
		rc = dataset_write(w, g, gpath, snm_metrics_name(m, c), H5T_IEEE_F64LE,
		                   H5T_NATIVE_DOUBLE, 1, dims, maxdims, w->dcpl_m,
		                   snm_metrics_column(m, c), NULL, NULL);
	h5close(g);
	return rc;
}

static int write_params(writer *w, const char *gpath, const snm_params *p)
{
	int rc;
	hid_t g;
	if ((rc = group_make(w, gpath, &g)) != SNM_OK)
		return rc;
	for (int i = 0; i < snm_params_count(p) && rc == SNM_OK; ++i) {
		const snm_tensor *t = snm_params_at(p, i);
		hsize_t dims[SNM_MAX_DIM];
		for (int k = 0; k < t->n_d; ++k)
			dims[k] = (hsize_t)t->d[k];
		rc = dataset_write(w, g, gpath, t->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t->n_d, dims,
		                   NULL, w->dcpl, t->x, (t->flags & SNM_T_PARAM) ? "param" : "buffer", NULL);
	}
	h5close(g);
	return rc;
}

static int write_rngs(writer *w, const snm_store_run *run)
{
	int rc;
	hid_t g;
	if ((rc = group_make(w, RNG_GROUP, &g)) != SNM_OK)
		return rc;
	for (int i = 0; i < run->n_rng && rc == SNM_OK; ++i) {
		const gsl_rng *r = run->rngs[i];
		hsize_t dims[1] = { snm_rng_state_size(r) };
		rc = dataset_write(w, g, RNG_GROUP, run->rng_names[i], H5T_STD_U8LE, H5T_NATIVE_UINT8, 1,
		                   dims, NULL, w->dcpl, snm_rng_state(r), NULL, gsl_rng_name(r));
	}
	h5close(g);
	return rc;
}

static int write_all(writer *w, const snm_store_run *run)
{
	int rc;
	hid_t root = w->fid;
	if ((rc = attr_write_str(w, root, "/", "format", STORE_FORMAT)) != SNM_OK
	    || (rc = attr_write_i64(w, root, "/", "format_version", STORE_FORMAT_VERSION)) != SNM_OK)
		return rc;
	for (int i = 0; i < run->n_str; ++i)
		if ((rc = attr_write_str(w, root, "/", run->str_names[i], run->str_values[i])) != SNM_OK)
			return rc;
	for (int i = 0; i < run->n_int; ++i)
		if ((rc = attr_write_i64(w, root, "/", run->int_names[i], run->int_values[i])) != SNM_OK)
			return rc;
	if (run->metrics != NULL && (rc = write_metrics(w, METRICS_GROUP, run->metrics)) != SNM_OK)
		return rc;
	for (int g = 0; g < run->n_groups; ++g)
		if ((rc = write_params(w, run->group_paths[g], run->groups[g])) != SNM_OK)
			return rc;
	if (run->n_rng > 0 && (rc = write_rngs(w, run)) != SNM_OK)
		return rc;
	for (int t = 0; t < run->n_tables; ++t)
		if ((rc = write_metrics(w, run->table_paths[t], run->tables[t])) != SNM_OK)
			return rc;
	return SNM_OK;
}

static int writer_open(writer *w)
{
	static const double zero = 0.0;
	hsize_t chunk[1] = { METRICS_CHUNK };
	w->gcpl = H5Pcreate(H5P_GROUP_CREATE);
	w->dcpl = H5Pcreate(H5P_DATASET_CREATE);
	w->dcpl_m = H5Pcreate(H5P_DATASET_CREATE);
	w->scalar = H5Screate(H5S_SCALAR);
	if (w->gcpl < 0 || w->dcpl < 0 || w->dcpl_m < 0 || w->scalar < 0
	    || H5Pset_obj_track_times(w->gcpl, 0) < 0 || H5Pset_obj_track_times(w->dcpl, 0) < 0
	    || H5Pset_obj_track_times(w->dcpl_m, 0) < 0 || H5Pset_chunk(w->dcpl_m, 1, chunk) < 0
	    || H5Pset_fill_value(w->dcpl_m, H5T_NATIVE_DOUBLE, &zero) < 0
	    || H5Pset_fill_time(w->dcpl_m, H5D_FILL_TIME_ALLOC) < 0)
		return h5fail(w->c, "cannot set up creation properties");
	return SNM_OK;
}

/* Closes the writer's properties, types and spaces (not the file); safe to call twice. */
static void writer_close(writer *w)
{
	hid_t *ids[] = { &w->scalar, &w->dcpl_m, &w->dcpl, &w->gcpl };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; ++i) {
		h5close(*ids[i]);
		*ids[i] = H5I_INVALID_HID;
	}
}

/* fsync a file or directory by name. */
static int sync_path(const char *path, int dir)
{
	int fd = open(path, O_RDONLY | (dir ? O_DIRECTORY : 0)), rc, e;
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* The directory holding path ("." when it has no '/'), into buf. */
static const char *dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return ".";
	if (slash == path)
		return "/";
	snprintf(buf, size, "%.*s", (int)(slash - path), path);
	return buf;
}

/* Writes n bytes to fd, through short writes and interruptions; -1 with errno on failure. */
static int write_all_fd(int fd, const unsigned char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The save: the file is built in memory (fapl_new), its image written to "<path>.tmp" with
 * write(2), synced, and renamed over path.  Every hid_t is closed exactly once, by the cleanup
 * below; a failure of the disk (ENOSPC, EDQUOT, EFBIG, EROFS, EACCES) is one line naming the
 * file and strerror's reason, the temporary file is removed, and path is left as it was. */
int snm_store_save(const char *path, const snm_store_run *run, snm_error *err)
{
	ctx c;
	writer w = { &c, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID,
	             H5I_INVALID_HID };
	hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
	char *tmp = NULL, dirbuf[1024];
	unsigned char *image = NULL;
	ssize_t size;
	int rc, created = 0, fd = -1;
	if (path == NULL || path[0] == '\0' || run == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_save: no path or no run record");
	ctx_begin(&c, path, err);
	if ((rc = check_run(&c, run, 1)) != SNM_OK)
		goto out;
	if ((tmp = malloc(strlen(path) + 5)) == NULL) {
		rc = fail(&c, SNM_ENOMEM, "out of memory");
		goto out;
	}
	sprintf(tmp, "%s.tmp", path);
	fcpl = H5Pcreate(H5P_FILE_CREATE);
	fapl = fapl_new(1);
	if (fcpl < 0 || fapl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0) {
		rc = h5fail(&c, "cannot set up file properties");
		goto out;
	}
	if ((rc = writer_open(&w)) != SNM_OK)
		goto out;
	if ((w.fid = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl)) < 0) {
		rc = h5fail(&c, "cannot create HDF5 file '%s' in memory", tmp);
		goto out;
	}
	if ((rc = write_all(&w, run)) != SNM_OK)
		goto out;
	if (H5Fflush(w.fid, H5F_SCOPE_GLOBAL) < 0 || (size = H5Fget_file_image(w.fid, NULL, 0)) < 0) {
		rc = h5fail(&c, "cannot flush '%s' in memory", tmp);
		goto out;
	}
	/* the file: the seal, then HDF5's image, whose superblock HDF5 then finds at 512 (it looks
	 * at 0, 512, 1024, ... and takes the superblock's place as the base of its addresses) */
	if ((image = calloc((size_t)size + SNM_SEAL_SIZE, 1)) == NULL) {
		rc = fail(&c, SNM_ENOMEM, "out of memory for a %zd byte file", size);
		goto out;
	}
	if (H5Fget_file_image(w.fid, image + SNM_SEAL_SIZE, (size_t)size) != size) {
		rc = h5fail(&c, "cannot take the image of '%s'", tmp);
		goto out;
	}
	writer_close(&w);
	rc = H5Fclose(w.fid) < 0 ? h5fail(&c, "cannot close '%s' in memory", tmp) : SNM_OK;
	w.fid = H5I_INVALID_HID;     /* closed or not, the id is spent: never closed twice */
	if (rc != SNM_OK)
		goto out;
	size += SNM_SEAL_SIZE;
	if ((rc = snm_seal_write(image, (size_t)size, err)) != SNM_OK) {
		snm_error_prefix(err, "%s", tmp);
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	created = 1;
	if (write_all_fd(fd, image, (size_t)size) < 0) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	if (fsync(fd) < 0) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: cannot sync: %s", tmp, strerror(errno));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: cannot close: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
		goto out;
	}
	created = 0;
	/* Make the rename itself durable.  Best effort: some file systems refuse fsync on a
	 * directory, and the new file is complete either way. */
	sync_path(dir_of(path, dirbuf, sizeof dirbuf), 1);
	rc = SNM_OK;
out:
	if (fd >= 0)
		close(fd);
	h5close(w.fid);
	writer_close(&w);
	h5close(fapl);
	h5close(fcpl);
	if (created)
		unlink(tmp);
	free(image);
	free(tmp);
	ctx_end(&c);
	return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Opens the single-valued attribute name of obj, of HDF5 class cls ("a single string" / "a single
 * integer" in messages), with its file type and dataspace; the caller closes all three.  A missing
 * attribute is SNM_EIO "no attribute '<name>' on '<where>'". */
static int attr_open(ctx *c, hid_t obj, const char *where, const char *name, H5T_class_t cls,
                     const char *what, hid_t *a, hid_t *ft, hid_t *sp)
{
	htri_t e = H5Aexists(obj, name);
	*a = *ft = *sp = H5I_INVALID_HID;
	if (e < 0)
		return h5fail(c, "cannot look up attribute '%s' on '%s'", name, where);
	if (e == 0)
		return fail(c, SNM_EIO, "no attribute '%s' on '%s'", name, where);
	if ((*a = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (*ft = H5Aget_type(*a)) < 0
	    || (*sp = H5Aget_space(*a)) < 0)
		return h5fail(c, "cannot open attribute '%s' on '%s'", name, where);
	if (H5Tget_class(*ft) != cls || H5Sget_simple_extent_npoints(*sp) != 1)
		return fail(c, SNM_EIO, "attribute '%s' on '%s' is not %s", name, where, what);
	return SNM_OK;
}

/* Reads the string attribute name of obj into *out (malloc'd): a fixed-length string no longer
 * than the file, or in a format-1 file a variable-length one; a missing attribute is SNM_EIO
 * "<where>: no attribute". */
static int attr_read_str(ctx *c, hid_t obj, const char *where, const char *name, char **out)
{
	hid_t a, ft, sp, mt = H5I_INVALID_HID;
	int rc = attr_open(c, obj, where, name, H5T_STRING, "a single string", &a, &ft, &sp);
	htri_t vl;
	*out = NULL;
	if (rc)
		goto out;
	if ((vl = H5Tis_variable_str(ft)) < 0 || (mt = H5Tcopy(H5T_C_S1)) < 0
	    || H5Tset_cset(mt, H5Tget_cset(ft)) < 0) {
		rc = h5fail(c, "cannot make a string type");
		goto out;
	}
	if (vl > 0 && c->version != 1) {
		rc = fail(c, SNM_EIO, "attribute '%s' on '%s' is a variable-length string, which format %d "
		          "never holds", name, where, c->version);
		goto out;
	}
	if (vl > 0) {
		char *s = NULL;
		if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &s) < 0) {
			rc = h5fail(c, "cannot read attribute '%s' on '%s'", name, where);
			goto out;
		}
		*out = strdup(s != NULL ? s : "");
		H5free_memory(s);
		if (*out == NULL)
			rc = fail(c, SNM_ENOMEM, "out of memory for attribute '%s'", name);
	} else {
		size_t n = H5Tget_size(ft);
		H5T_str_t pad = H5Tget_strpad(ft);
		if (n == 0 || n > c->bytes) {
			rc = fail(c, SNM_EIO, "attribute '%s' on '%s' claims %zu bytes in a %zu byte file", name,
			          where, n, c->bytes);
			goto out;
		}
		if ((*out = calloc(n + 1, 1)) == NULL) {
			rc = fail(c, SNM_ENOMEM, "out of memory for attribute '%s'", name);
			goto out;
		}
		if (H5Tset_size(mt, n) < 0 || H5Tset_strpad(mt, pad) < 0 || H5Aread(a, mt, *out) < 0) {
			free(*out);
			*out = NULL;
			rc = h5fail(c, "cannot read attribute '%s' on '%s'", name, where);
			goto out;
		}
		if (pad == H5T_STR_SPACEPAD)
			for (size_t k = strlen(*out); k > 0 && (*out)[k - 1] == ' '; --k)
				(*out)[k - 1] = '\0';
	}
out:
	h5close(mt);
	h5close(sp);
	h5close(ft);
	h5close(a);
	return rc;
}

/* Reads an integer attribute of any integer type as int64. */
static int attr_read_i64(ctx *c, hid_t obj, const char *where, const char *name, int64_t *out)
{
	hid_t a, ft, sp;
	int rc = attr_open(c, obj, where, name, H5T_INTEGER, "a single integer", &a, &ft, &sp);
	if (rc)
		goto out;
	if (H5Aread(a, H5T_NATIVE_INT64, out) < 0)
		rc = h5fail(c, "cannot read attribute '%s' on '%s'", name, where);
out:
	h5close(sp);
	h5close(ft);
	h5close(a);
	return rc;
}

/* Reads the whole file at c->path into *image (malloc'd; *size bytes), at most STORE_MAX_BYTES.
 * Only a regular file: opened without blocking and looked at before a byte is read, so that a
 * FIFO waits for no writer and a device (/dev/zero) is not read to the limit. */
static int image_read(ctx *c, unsigned char **image, size_t *size)
{
	long long bytes = 0;
	int fd = snm_open_regular(c->path, &bytes);
	FILE *f;
	unsigned char *buf = NULL;
	size_t n = 0, m = 0;
	int rc = SNM_OK;
	*image = NULL;
	*size = 0;
	if (fd == -2)
		return fail(c, SNM_EIO, "not a regular file");
	if (fd < 0)
		return fail(c, SNM_EIO, "%s", strerror(errno));
	if ((unsigned long long)bytes > STORE_MAX_BYTES) {
		close(fd);
		return fail(c, SNM_EIO, "larger than the %zu bytes a run file may have", STORE_MAX_BYTES);
	}
	if ((f = fdopen(fd, "rb")) == NULL) {
		int e = errno;
		close(fd);
		return fail(c, SNM_EIO, "%s", strerror(e));
	}
	for (;;) {
		size_t k;
		if (n == m) {
			unsigned char *b;
			if (m >= STORE_MAX_BYTES) {
				rc = fail(c, SNM_EIO, "larger than the %zu bytes a run file may have", STORE_MAX_BYTES);
				break;
			}
			m = m ? 2 * m : (size_t)1 << 16;
			if ((b = realloc(buf, m + 1)) == NULL) {
				rc = fail(c, SNM_ENOMEM, "out of memory reading %zu bytes", m);
				break;
			}
			buf = b;
		}
		k = fread(buf + n, 1, m - n, f);
		n += k;
		if (k == 0) {
			if (ferror(f))
				rc = fail(c, SNM_EIO, "cannot read: %s", strerror(errno));
			break;
		}
	}
	fclose(f);
	if (rc != SNM_OK) {
		free(buf);
		return rc;
	}
	*image = buf;
	*size = n;
	return SNM_OK;
}

static uint64_t le_u(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; --i)
		v = v << 8 | p[i];
	return v;
}

/* Format 1 only: the global heap collections ("GCOL", version 1, 8-byte lengths as snm wrote
 * them) that hold its variable-length strings must be whole before libhdf5 reads one: libhdf5
 * 1.10 trusts their object sizes and indices, and one damaged byte there makes it crash or spin
 * forever.  Every collection must lie within the file; its objects, each a 16-byte header (index,
 * reference count, reserved, size) and its data padded to 8 bytes, must have increasing indices
 * and fit in it, and end at a free-space object (index 0) that spans the rest exactly. */
static int legacy_heaps_check(ctx *c, const unsigned char *image, size_t size)
{
	const unsigned char *p = image, *end = image + size;
	while ((p = memchr(p, 'G', (size_t)(end - p))) != NULL) {
		size_t off = (size_t)(p - image), left = size - off, at = 16;
		uint64_t csize, last = 0;
		if (left < 16 || memcmp(p, "GCOL", 4) != 0 || p[4] != 1 || (csize = le_u(p + 8, 8)) < 16
		    || csize > left) {
			p += 1;           /* not a collection: the letters in some string or weight */
			continue;
		}
		while (at + 16 <= csize) {
			uint64_t idx = le_u(p + at, 2), osize = le_u(p + at + 8, 8);
			if (idx == 0) {
				if (osize != csize - at)
					return fail(c, SNM_EIO, "damaged: its global heap at byte %zu is inconsistent", off);
				break;
			}
			if (idx <= last || osize > csize - at - 16)
				return fail(c, SNM_EIO, "damaged: its global heap at byte %zu is inconsistent", off);
			last = idx;
			at += 16 + (size_t)((osize + 7) / 8 * 8);
		}
		p += csize;
	}
	return SNM_OK;
}

/* Which files are probed (probe.h) before this process parses them: each file once, by the SHA-256
 * of its bytes (the seal's, or the whole file's when it has none; the last PROBED remembered),
 * with what the probe found, so that a hostile file read by several readers costs one probe. */
enum { PROBED = 256 };
typedef struct probed_file {
	char digest[65];
	int rc;                          /* SNM_OK, or the probe's error with its message */
	char why[200];
} probed_file;
static int probe_ms = SNM_PROBE_MS;
static probed_file probed[PROBED];
static unsigned probed_next;

void snm_store_set_probe(int ms)
{
	probe_ms = ms > 0 ? ms : 0;
}

/* The probe of these bytes, run now or remembered: SNM_OK, or its error (err, without path). */
static int probe_file(const char *digest, const char *name, hid_t fapl, size_t size, snm_error *err)
{
	probed_file *f;
	snm_error e = { 0 };
	int rc;
	if (probe_ms == 0)
		return SNM_OK;
	for (unsigned i = 0; digest[0] != '\0' && i < PROBED; ++i)
		if (strcmp(probed[i].digest, digest) == 0)
			return probed[i].rc == SNM_OK ? SNM_OK : SNM_FAIL(err, probed[i].rc, "%s", probed[i].why);
	rc = snm_probe(name, fapl, size, probe_ms, &e);
	if (digest[0] != '\0') {
		f = &probed[probed_next++ % PROBED];
		memcpy(f->digest, digest, 65);
		f->rc = rc;
		snprintf(f->why, sizeof f->why, "%.199s", rc == SNM_OK ? "" : e.msg);
	}
	return rc == SNM_OK ? SNM_OK : SNM_FAIL(err, rc, "%s", e.msg);
}


/* Opens the run file read-only and checks that it is an snm run file of a supported version.
 * The file is read whole and parsed from memory: a format-2 file only once its seal (seal.h)
 * matched, so that libhdf5 never parses a damaged byte, and the bytes parsed are the bytes
 * checked even if the file is replaced meanwhile. */
static int run_open(ctx *c, hid_t *fid)
{
	int rc;
	char *format = NULL;
	int64_t version = 0;
	hid_t fapl = H5I_INVALID_HID;
	unsigned char *image = NULL;
	size_t size = 0, skip;
	snm_seal_kind kind;
	char digest[65] = "", name[64];
	static unsigned long opened;
	*fid = H5I_INVALID_HID;
	if ((rc = image_read(c, &image, &size)) != SNM_OK)
		return rc;
	kind = snm_seal_kind_of(image, size);
	if (kind == SNM_SEAL_OTHER) {
		free(image);
		return fail(c, SNM_EIO, "not an HDF5 file or truncated");
	}
	if (kind == SNM_SEAL_SEALED && (rc = snm_seal_check(image, size, digest, c->err)) != SNM_OK) {
		free(image);
		snm_error_prefix(c->err, "%s", c->path);
		return rc;
	}
	if (kind == SNM_SEAL_HDF5 && ((rc = legacy_heaps_check(c, image, size)) != SNM_OK
	                              || (rc = snm_seal_sha256(image, size, digest, c->err)) != SNM_OK)) {
		free(image);
		return rc;
	}
	c->bytes = size;
	c->version = kind == SNM_SEAL_SEALED ? 2 : 1;
	skip = kind == SNM_SEAL_SEALED ? SNM_SEAL_SIZE : 0;     /* libhdf5 parses HDF5's part alone */
	if ((fapl = fapl_new(0)) < 0 || H5Pset_file_image(fapl, image + skip, size - skip) < 0) {
		h5close(fapl);
		free(image);
		return h5fail(c, "cannot set up file access properties");
	}
	free(image);                  /* H5Pset_file_image copied it */
	/* The core driver refuses an image whose name exists as a file, and takes two open images of
	 * the same name for one file: a name of its own for each open. */
	snprintf(name, sizeof name, "/nonexistent/snm-run-image-%ld-%lu", (long)getpid(), ++opened);
	if ((rc = probe_file(digest, name, fapl, size, c->err)) != SNM_OK) {
		H5Pclose(fapl);
		snm_error_prefix(c->err, "%s", c->path);
		return rc;
	}
	*fid = H5Fopen(name, H5F_ACC_RDONLY, fapl);
	H5Pclose(fapl);
	if (*fid < 0)
		return fail(c, SNM_EIO, kind == SNM_SEAL_SEALED ? "not an snm run file (its HDF5 part is unreadable)"
		                                               : "not an HDF5 file or truncated");
	if (H5Aexists(*fid, "format") <= 0) {
		rc = fail(c, SNM_EIO, "not an snm run file (no 'format' attribute)");
		goto bad;
	}
	if ((rc = attr_read_str(c, *fid, "/", "format", &format)) != SNM_OK)
		goto bad;
	if (strcmp(format, STORE_FORMAT) != 0) {
		rc = fail(c, SNM_EIO, "not an snm run file (format '%.80s')", format);
		goto bad;
	}
	if (attr_read_i64(c, *fid, "/", "format_version", &version) != SNM_OK) {
		rc = fail(c, SNM_EIO, "not an snm run file (no integer 'format_version')");
		goto bad;
	}
	if (version > STORE_FORMAT_VERSION) {
		rc = fail(c, SNM_EIO, "format_version %lld is newer than this snm reads (%d)",
		          (long long)version, STORE_FORMAT_VERSION);
		goto bad;
	}
	if (version != c->version) {
		rc = fail(c, SNM_EIO, "format_version %lld in a file %s a seal", (long long)version,
		          c->version == 2 ? "with" : "without");
		goto bad;
	}
	free(format);
	return SNM_OK;
bad:
	free(format);
	H5Fclose(*fid);
	*fid = H5I_INVALID_HID;
	return rc;
}

/* SNM_EIO unless n elements of `size` bytes fit in the file: run files are never compressed, so a
 * dataset cannot hold more bytes than its file; a larger shape is damage or a forgery. */
static int fits_file(ctx *c, const char *gpath, const char *name, double n, size_t size)
{
	if (n * (double)size > (double)c->bytes)
		return fail(c, SNM_EIO, "dataset '%s/%s' claims %.0f elements in a %zu byte file", gpath, name,
		            n, c->bytes);
	return SNM_OK;
}

/* Names of the datasets (hard links to datasets) directly in a group, in HDF5's name order. */
typedef struct names {
	char **v;
	int n, m;
	int nomem;
} names;

static void names_free(names *l)
{
	for (int i = 0; i < l->n; ++i)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->m = 0;
}

static int names_has(const names *l, const char *s)
{
	for (int i = 0; i < l->n; ++i)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static herr_t names_walk(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
	names *l = data;
	hid_t o;
	int is_dataset;
	if (info->type != H5L_TYPE_HARD)
		return 0;
	if ((o = H5Oopen(g, name, H5P_DEFAULT)) < 0)
		return -1;
	is_dataset = H5Iget_type(o) == H5I_DATASET;
	H5Oclose(o);
	if (!is_dataset)
		return 0;
	if (l->n == l->m) {
		int m = l->m ? 2 * l->m : 16;
		char **v = realloc(l->v, (size_t)m * sizeof *v);
		if (v == NULL) {
			l->nomem = 1;
			return -1;
		}
		l->v = v;
		l->m = m;
	}
	if ((l->v[l->n] = strdup(name)) == NULL) {
		l->nomem = 1;
		return -1;
	}
	l->n++;
	return 0;
}

static int names_list(ctx *c, hid_t g, const char *gpath, names *l)
{
	memset(l, 0, sizeof *l);
	if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, names_walk, l) < 0) {
		int rc = l->nomem ? fail(c, SNM_ENOMEM, "out of memory listing '%s'", gpath)
		                  : h5fail(c, "cannot list group '%s'", gpath);
		names_free(l);
		return rc;
	}
	return SNM_OK;
}

/* Opens the group at gpath; a missing one is SNM_EIO "no group". */
static int group_open(ctx *c, hid_t fid, const char *gpath, hid_t *g)
{
	htri_t e = path_exists(fid, gpath);
	*g = H5I_INVALID_HID;
	if (e < 0)
		return h5fail(c, "cannot look up '%s'", gpath);
	if (e == 0)
		return fail(c, SNM_EIO, "no group '%s'", gpath);
	if ((*g = H5Gopen2(fid, gpath, H5P_DEFAULT)) < 0)
		return h5fail(c, "cannot open group '%s'", gpath);
	return SNM_OK;
}

static void shape_str(char *buf, size_t size, int rank, const hsize_t *d)
{
	size_t k = (size_t)snprintf(buf, size, "(");
	for (int i = 0; i < rank && k < size; ++i)
		k += (size_t)snprintf(buf + k, size - k, i ? ",%llu" : "%llu", (unsigned long long)d[i]);
	if (k < size)
		snprintf(buf + k, size - k, ")");
}

/* Opens dataset gpath/name and checks its class and rank; dims receives its shape. */
static int dataset_open(ctx *c, hid_t g, const char *gpath, const char *name, H5T_class_t cls,
                        const char *cls_name, hid_t *d, int *rank, hsize_t *dims)
{
	hid_t t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
	int rc = SNM_OK;
	if ((*d = H5Dopen2(g, name, H5P_DEFAULT)) < 0)
		return h5fail(c, "cannot open dataset '%s/%s'", gpath, name);
	if ((t = H5Dget_type(*d)) < 0 || (sp = H5Dget_space(*d)) < 0
	    || (*rank = H5Sget_simple_extent_ndims(sp)) < 0) {
		rc = h5fail(c, "cannot query dataset '%s/%s'", gpath, name);
		goto out;
	}
	if (H5Tget_class(t) != cls) {
		rc = fail(c, SNM_EIO, "group '%s' entry '%s' is not %s", gpath, name, cls_name);
		goto out;
	}
	if (*rank > H5S_MAX_RANK || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
		rc = h5fail(c, "cannot query dataset '%s/%s'", gpath, name);
		goto out;
	}
out:
	h5close(sp);
	h5close(t);
	if (rc != SNM_OK) {
		h5close(*d);
		*d = H5I_INVALID_HID;
	}
	return rc;
}

/* Reads the table at gpath (/metrics) into vals (n_cols x rows, column-major, malloc'd) for the
 * columns of m. */
static int metrics_read(ctx *c, hid_t fid, const char *gpath, const snm_metrics *m, double **vals,
                        size_t *rows)
{
	int rc, n_cols = snm_metrics_cols(m);
	hid_t g = H5I_INVALID_HID, d = H5I_INVALID_HID;
	names l = { 0 };
	*vals = NULL;
	*rows = 0;
	if ((rc = group_open(c, fid, gpath, &g)) != SNM_OK)
		return rc;
	if ((rc = names_list(c, g, gpath, &l)) != SNM_OK)
		goto out;
	for (int k = 0; k < n_cols; ++k)
		if (!names_has(&l, snm_metrics_name(m, k))) {
			rc = fail(c, SNM_EIO, "no metrics column '%s' in '%s'", snm_metrics_name(m, k),
			          gpath);
			goto out;
		}
	for (int i = 0; i < l.n; ++i)
		if (snm_metrics_find(m, l.v[i]) < 0) {
			rc = fail(c, SNM_EIO, "metrics column '%s' in the file is not in the table", l.v[i]);
			goto out;
		}
	for (int k = 0; k < n_cols; ++k) {
		const char *name = snm_metrics_name(m, k);
		hsize_t dims[H5S_MAX_RANK];
		int rank;
		if ((rc = dataset_open(c, g, gpath, name, H5T_FLOAT, "floating point", &d, &rank,
		                       dims)) != SNM_OK)
			goto out;
		if (rank != 1) {
			rc = fail(c, SNM_EIO, "metrics column '%s' is not 1-D", name);
			goto out;
		}
		if (k > 0 && dims[0] != *rows) {
			rc = fail(c, SNM_EIO, "metrics column '%s' has %llu rows, '%s' has %zu", name,
			          (unsigned long long)dims[0], snm_metrics_name(m, 0), *rows);
			goto out;
		}
		if (k == 0) {
			if ((rc = fits_file(c, gpath, name, (double)dims[0] * n_cols, sizeof(double))))
				goto out;
			*rows = (size_t)dims[0];
			if (*rows > 0 && (*vals = malloc((size_t)n_cols * *rows * sizeof **vals)) == NULL) {
				rc = fail(c, SNM_ENOMEM, "out of memory for %zu metrics rows", *rows);
				goto out;
			}
		}
		if (*rows > 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
		                         *vals + (size_t)k * *rows) < 0) {
			rc = h5fail(c, "cannot read '%s/%s'", gpath, name);
			goto out;
		}
		h5close(d);
		d = H5I_INVALID_HID;
	}
out:
	h5close(d);
	h5close(g);
	names_free(&l);
	if (rc != SNM_OK) {
		free(*vals);
		*vals = NULL;
	}
	return rc;
}

/* Replaces the rows of m by vals (column-major, from metrics_read); cannot fail once m has room
 * for `rows` rows (snm_metrics_reserve) and row has snm_metrics_cols(m) doubles. */
static void metrics_commit(snm_metrics *m, const double *vals, size_t rows, double *row)
{
	int n_cols = snm_metrics_cols(m);
	snm_metrics_truncate(m, 0);
	for (size_t r = 0; r < rows; ++r) {
		for (int k = 0; k < n_cols; ++k)
			row[k] = vals[(size_t)k * rows + r];
		snm_metrics_append(m, row, NULL);
	}
}

/* Reads every entry of the registry p from group gpath into buf (entries back to back). */
static int params_read(ctx *c, hid_t fid, const char *gpath, const snm_params *p, float *buf)
{
	int rc;
	hid_t g = H5I_INVALID_HID, d = H5I_INVALID_HID;
	names l = { 0 };
	char *kind = NULL;
	if ((rc = group_open(c, fid, gpath, &g)) != SNM_OK)
		return rc;
	if ((rc = names_list(c, g, gpath, &l)) != SNM_OK)
		goto out;
	for (int i = 0; i < snm_params_count(p); ++i)
		if (!names_has(&l, snm_params_at(p, i)->name)) {
			rc = fail(c, SNM_EIO, "group '%s' has no entry '%s'", gpath, snm_params_at(p, i)->name);
			goto out;
		}
	for (int i = 0; i < l.n; ++i)
		if (snm_params_find(p, l.v[i]) == NULL) {
			rc = fail(c, SNM_EIO, "group '%s' has an entry '%s' that the registry lacks", gpath, l.v[i]);
			goto out;
		}
	for (int i = 0; i < snm_params_count(p); ++i) {
		const snm_tensor *t = snm_params_at(p, i);
		const char *want = (t->flags & SNM_T_PARAM) ? "param" : "buffer";
		hsize_t dims[H5S_MAX_RANK];
		int rank, same;
		htri_t has_kind;
		if ((rc = dataset_open(c, g, gpath, t->name, H5T_FLOAT, "floating point", &d, &rank, dims))
		    != SNM_OK)
			goto out;
		same = rank == t->n_d;
		for (int k = 0; same && k < rank; ++k)
			same = dims[k] == (hsize_t)t->d[k];
		if (!same) {
			char fs[96], rs[96];
			shape_str(fs, sizeof fs, rank, dims);
			rc = fail(c, SNM_EIO, "group '%s' entry '%s' has shape %s, the registry expects %s",
			          gpath, t->name, fs, snm_tensor_shape_str(t, rs, sizeof rs));
			goto out;
		}
		if ((has_kind = H5Aexists(d, "kind")) < 0) {
			rc = h5fail(c, "cannot look up attribute 'kind' of '%s/%s'", gpath, t->name);
			goto out;
		}
		if (has_kind > 0) {
			if ((rc = attr_read_str(c, d, t->name, "kind", &kind)) != SNM_OK)
				goto out;
			if (strcmp(kind, want) != 0) {
				rc = fail(c, SNM_EIO, "group '%s' entry '%s' is a %.20s in the file, a %s in the registry",
				          gpath, t->name, kind, want);
				goto out;
			}
			free(kind);
			kind = NULL;
		}
		if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
			rc = h5fail(c, "cannot read '%s/%s'", gpath, t->name);
			goto out;
		}
		buf += snm_tensor_len(t);
		h5close(d);
		d = H5I_INVALID_HID;
	}
out:
	free(kind);
	h5close(d);
	h5close(g);
	names_free(&l);
	return rc;
}

/* Reads the saved state of stream `name` into buf (gsl_rng_size(r) bytes) after checking that it
 * is of r's type and size. */
static int rng_read(ctx *c, hid_t g, const char *name, const gsl_rng *r, unsigned char *buf)
{
	int rc, rank;
	hid_t d = H5I_INVALID_HID;
	hsize_t dims[H5S_MAX_RANK];
	char *type = NULL;
	htri_t e = H5Lexists(g, name, H5P_DEFAULT);
	if (e < 0)
		return h5fail(c, "cannot look up '%s/%s'", RNG_GROUP, name);
	if (e == 0)
		return fail(c, SNM_EIO, "no random stream '%s' in '%s'", name, RNG_GROUP);
	if ((rc = dataset_open(c, g, RNG_GROUP, name, H5T_INTEGER, "a byte array", &d, &rank, dims))
	    != SNM_OK)
		return rc;
	if ((rc = attr_read_str(c, d, name, "type", &type)) != SNM_OK)
		goto out;
	if (strcmp(type, gsl_rng_name(r)) != 0) {
		rc = fail(c, SNM_EIO, "random stream '%s' is a '%.40s' in the file, a '%s' here", name, type,
		          gsl_rng_name(r));
		goto out;
	}
	if (rank != 1 || dims[0] != (hsize_t)snm_rng_state_size(r)) {
		rc = fail(c, SNM_EIO, "random stream '%s' has a state of another size than '%s' (%zu bytes)",
		          name, gsl_rng_name(r), snm_rng_state_size(r));
		goto out;
	}
	if (H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
		rc = h5fail(c, "cannot read '%s/%s'", RNG_GROUP, name);
out:
	free(type);
	h5close(d);
	return rc;
}

/* What a load reads before it touches the caller's objects. */
typedef struct stage {
	int64_t *ints;
	double *mvals, *mrow;
	size_t mrows;
	float **params;          /* one block per group */
	unsigned char **rng;     /* one block per stream */
} stage;

static void stage_free(stage *s, const snm_store_run *run)
{
	free(s->ints);
	free(s->mvals);
	free(s->mrow);
	for (int g = 0; s->params != NULL && g < run->n_groups; ++g)
		free(s->params[g]);
	for (int i = 0; s->rng != NULL && i < run->n_rng; ++i)
		free(s->rng[i]);
	free(s->params);
	free(s->rng);
}

static int load_stage(ctx *c, hid_t fid, const snm_store_run *run, stage *s)
{
	int rc;
	hid_t g;
	s->ints = calloc((size_t)run->n_int + 1, sizeof *s->ints);
	s->params = calloc((size_t)run->n_groups + 1, sizeof *s->params);
	s->rng = calloc((size_t)run->n_rng + 1, sizeof *s->rng);
	if (s->ints == NULL || s->params == NULL || s->rng == NULL)
		return fail(c, SNM_ENOMEM, "out of memory");
	for (int i = 0; i < run->n_int; ++i)
		if ((rc = attr_read_i64(c, fid, "/", run->int_names[i], &s->ints[i])) != SNM_OK)
			return rc;
	if (run->metrics != NULL) {
		snm_metrics *m = run->metrics;
		if ((rc = metrics_read(c, fid, METRICS_GROUP, m, &s->mvals, &s->mrows)) != SNM_OK)
			return rc;
		if ((s->mrow = malloc((size_t)snm_metrics_cols(m) * sizeof *s->mrow)) == NULL)
			return fail(c, SNM_ENOMEM, "out of memory");
		if ((rc = snm_metrics_reserve(m, s->mrows, c->err)) != SNM_OK) {
			snm_error_prefix(c->err, "%s", c->path);
			return rc;
		}
	}
	for (int k = 0; k < run->n_groups; ++k) {
		const snm_params *p = run->groups[k];
		size_t n = 0;
		for (int i = 0; i < snm_params_count(p); ++i)
			n += snm_tensor_len(snm_params_at(p, i));
		if ((s->params[k] = malloc((n + 1) * sizeof(float))) == NULL)
			return fail(c, SNM_ENOMEM, "out of memory for group '%s'", run->group_paths[k]);
		if ((rc = params_read(c, fid, run->group_paths[k], p, s->params[k])) != SNM_OK)
			return rc;
	}
	if (run->n_rng == 0)
		return SNM_OK;
	if ((rc = group_open(c, fid, RNG_GROUP, &g)) != SNM_OK)
		return rc;
	for (int i = 0; i < run->n_rng && rc == SNM_OK; ++i) {
		if ((s->rng[i] = malloc(snm_rng_state_size(run->rngs[i]))) == NULL)
			rc = fail(c, SNM_ENOMEM, "out of memory");
		else
			rc = rng_read(c, g, run->rng_names[i], run->rngs[i], s->rng[i]);
	}
	h5close(g);
	return rc;
}

int snm_store_load(const char *path, const snm_store_run *run, int64_t *int_out, snm_error *err)
{
	ctx c;
	stage s = { 0 };
	hid_t fid = H5I_INVALID_HID;
	int rc;
	if (path == NULL || run == NULL || (run->n_int > 0 && int_out == NULL))
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_load: no path, run record or int_out");
	ctx_begin(&c, path, err);
	if ((rc = check_run(&c, run, 0)) != SNM_OK || (rc = run_open(&c, &fid)) != SNM_OK)
		goto out;
	if ((rc = load_stage(&c, fid, run, &s)) != SNM_OK)
		goto out;
	/* Everything was read and checked: commit.  Nothing below can fail. */
	if (run->n_int > 0)
		memcpy(int_out, s.ints, (size_t)run->n_int * sizeof *int_out);
	if (run->metrics != NULL)
		metrics_commit(run->metrics, s.mvals, s.mrows, s.mrow);
	for (int k = 0; k < run->n_groups; ++k) {
		const float *src = s.params[k];
		for (int i = 0; i < snm_params_count(run->groups[k]); ++i) {
			snm_tensor *t = snm_params_at(run->groups[k], i);
			memcpy(t->x, src, snm_tensor_len(t) * sizeof(float));
			src += snm_tensor_len(t);
		}
	}
	for (int i = 0; i < run->n_rng; ++i)
		snm_rng_restore(run->rngs[i], gsl_rng_name(run->rngs[i]), s.rng[i],
		                snm_rng_state_size(run->rngs[i]), NULL);
out:
	stage_free(&s, run);
	h5close(fid);
	ctx_end(&c);
	return rc;
}

int snm_store_get_str(const char *path, const char *name, char **out, snm_error *err)
{
	ctx c;
	hid_t fid;
	int rc;
	if (out != NULL)
		*out = NULL;
	if (path == NULL || name == NULL || out == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_get_str: no path, name or out");
	ctx_begin(&c, path, err);
	if ((rc = run_open(&c, &fid)) == SNM_OK) {
		rc = attr_read_str(&c, fid, "/", name, out);
		H5Fclose(fid);
	}
	ctx_end(&c);
	return rc;
}

int snm_store_get_int(const char *path, const char *name, int64_t *out, snm_error *err)
{
	ctx c;
	hid_t fid;
	int64_t v = 0;
	int rc;
	if (path == NULL || name == NULL || out == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_get_int: no path, name or out");
	ctx_begin(&c, path, err);
	if ((rc = run_open(&c, &fid)) == SNM_OK) {
		if ((rc = attr_read_i64(&c, fid, "/", name, &v)) == SNM_OK)
			*out = v;
		H5Fclose(fid);
	}
	ctx_end(&c);
	return rc;
}

int snm_store_read_table(const char *path, const char *gpath, snm_metrics **out, snm_error *err)
{
	ctx c;
	hid_t fid = H5I_INVALID_HID, g = H5I_INVALID_HID;
	names l = { 0 };
	snm_metrics *m = NULL;
	double *vals = NULL, *row = NULL;
	size_t rows = 0;
	snm_error e = { 0 };
	int rc;
	if (out != NULL)
		*out = NULL;
	if (path == NULL || gpath == NULL || out == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_read_table: no path, table or out");
	ctx_begin(&c, path, err);
	if ((rc = run_open(&c, &fid)) != SNM_OK || (rc = group_open(&c, fid, gpath, &g)) != SNM_OK
	    || (rc = names_list(&c, g, gpath, &l)) != SNM_OK)
		goto out;
	if (l.n == 0) {
		rc = fail(&c, SNM_EIO, "'%s' has no columns", gpath);
		goto out;
	}
	if ((m = snm_metrics_new(l.n, (const char *const *)l.v, &e)) == NULL) {
		rc = fail(&c, e.code, "%s", e.msg);
		goto out;
	}
	if ((rc = metrics_read(&c, fid, gpath, m, &vals, &rows)) != SNM_OK)
		goto out;
	if ((row = malloc((size_t)l.n * sizeof *row)) == NULL) {
		rc = fail(&c, SNM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = snm_metrics_reserve(m, rows, err)) != SNM_OK) {
		snm_error_prefix(err, "%s", path);
		goto out;
	}
	metrics_commit(m, vals, rows, row);
	*out = m;
	m = NULL;
out:
	snm_metrics_free(m);
	free(vals);
	free(row);
	names_free(&l);
	h5close(g);
	h5close(fid);
	ctx_end(&c);
	return rc;
}

int snm_store_read_metrics(const char *path, snm_metrics **out, snm_error *err)
{
	return snm_store_read_table(path, METRICS_GROUP, out, err);
}

/* ---- whole-file reads for tools (compact copies, verification) ------------------------------ */

void snm_store_attrs_free(snm_store_attrs *a)
{
	if (a == NULL)
		return;
	for (int i = 0; i < a->n_str; ++i) {
		free(a->str_names[i]);
		free(a->str_values[i]);
	}
	for (int i = 0; i < a->n_int; ++i)
		free(a->int_names[i]);
	free(a->str_names);
	free(a->str_values);
	free(a->int_names);
	free(a->int_values);
	memset(a, 0, sizeof *a);
}

typedef struct attr_walk {
	ctx *c;
	snm_store_attrs *a;
	int m_str, m_int;
	int rc;
} attr_walk;

/* Grows one of the two lists by one slot. */
static int attrs_room(void **names, void **values, size_t vsize, int n, int *m)
{
	void *nv, *vv;
	int k;
	if (n < *m)
		return 0;
	k = *m ? 2 * *m : 16;
	if ((nv = realloc(*names, (size_t)k * sizeof(char *))) == NULL)
		return -1;
	*names = nv;
	if ((vv = realloc(*values, (size_t)k * vsize)) == NULL)
		return -1;
	*values = vv;
	*m = k;
	return 0;
}

static herr_t attrs_walk(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
	attr_walk *w = data;
	snm_store_attrs *a = w->a;
	hid_t at, t;
	H5T_class_t cls;
	(void)info;
	if (strcmp(name, "format") == 0 || strcmp(name, "format_version") == 0)
		return 0;
	if ((at = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (t = H5Aget_type(at)) < 0) {
		h5close(at);
		w->rc = h5fail(w->c, "cannot open attribute '%s' on '/'", name);
		return -1;
	}
	cls = H5Tget_class(t);
	H5Tclose(t);
	H5Aclose(at);
	if (cls == H5T_STRING) {
		char *v = NULL;
		if ((w->rc = attr_read_str(w->c, obj, "/", name, &v)) != SNM_OK)
			return -1;
		if (attrs_room((void **)&a->str_names, (void **)&a->str_values, sizeof(char *), a->n_str,
		               &w->m_str) != 0 || (a->str_names[a->n_str] = strdup(name)) == NULL) {
			free(v);
			w->rc = fail(w->c, SNM_ENOMEM, "out of memory");
			return -1;
		}
		a->str_values[a->n_str++] = v;
	} else if (cls == H5T_INTEGER) {
		int64_t v;
		if ((w->rc = attr_read_i64(w->c, obj, "/", name, &v)) != SNM_OK)
			return -1;
		if (attrs_room((void **)&a->int_names, (void **)&a->int_values, sizeof(int64_t), a->n_int,
		               &w->m_int) != 0 || (a->int_names[a->n_int] = strdup(name)) == NULL) {
			w->rc = fail(w->c, SNM_ENOMEM, "out of memory");
			return -1;
		}
		a->int_values[a->n_int++] = v;
	} else {
		w->rc = fail(w->c, SNM_EIO, "root attribute '%s' is neither a string nor an integer", name);
		return -1;
	}
	return 0;
}

int snm_store_read_attrs(const char *path, snm_store_attrs *out, snm_error *err)
{
	ctx c;
	hid_t fid;
	attr_walk w = { 0 };
	snm_store_attrs a = { 0 };
	int rc;
	if (path == NULL || out == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_read_attrs: no path or out");
	memset(out, 0, sizeof *out);
	ctx_begin(&c, path, err);
	if ((rc = run_open(&c, &fid)) == SNM_OK) {
		w.c = &c;
		w.a = &a;
		if (H5Aiterate2(fid, H5_INDEX_NAME, H5_ITER_INC, NULL, attrs_walk, &w) < 0)
			rc = w.rc != SNM_OK ? w.rc : h5fail(&c, "cannot list the root attributes");
		H5Fclose(fid);
	}
	ctx_end(&c);
	if (rc == SNM_OK)
		*out = a;
	else
		snm_store_attrs_free(&a);
	return rc;
}

int snm_store_read_group(const char *path, const char *gpath, snm_params **out, snm_error *err)
{
	ctx c;
	hid_t fid = H5I_INVALID_HID, g = H5I_INVALID_HID, d = H5I_INVALID_HID;
	names l = { 0 };
	snm_params *p = NULL;
	char *kind = NULL;
	snm_error e = { 0 };
	int rc;
	if (out != NULL)
		*out = NULL;
	if (path == NULL || gpath == NULL || out == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_read_group: no path, group or out");
	ctx_begin(&c, path, err);
	if ((rc = run_open(&c, &fid)) != SNM_OK || (rc = group_open(&c, fid, gpath, &g)) != SNM_OK
	    || (rc = names_list(&c, g, gpath, &l)) != SNM_OK)
		goto out;
	if ((p = snm_params_new(&e)) == NULL) {
		rc = fail(&c, e.code, "%s", e.msg);
		goto out;
	}
	for (int i = 0; i < l.n; ++i) {
		hsize_t dims[H5S_MAX_RANK];
		int rank, d32[SNM_MAX_DIM];
		double len = 1;
		unsigned k = SNM_T_PARAM;
		htri_t has_kind;
		snm_tensor *t;
		if ((rc = dataset_open(&c, g, gpath, l.v[i], H5T_FLOAT, "floating point", &d, &rank, dims))
		    != SNM_OK)
			goto out;
		if (rank < 1 || rank > SNM_MAX_DIM) {
			rc = fail(&c, SNM_EIO, "group '%s' entry '%s' has rank %d (1..%d)", gpath, l.v[i], rank,
			          SNM_MAX_DIM);
			goto out;
		}
		for (int j = 0; j < rank; ++j) {
			len *= (double)dims[j];
			if (dims[j] < 1 || len > (double)(1u << 30)) {
				rc = fail(&c, SNM_EIO, "group '%s' entry '%s' has a dimension of %llu", gpath,
				          l.v[i], (unsigned long long)dims[j]);
				goto out;
			}
			d32[j] = (int)dims[j];
		}
		if ((rc = fits_file(&c, gpath, l.v[i], len, sizeof(float))) != SNM_OK)
			goto out;
		if ((has_kind = H5Aexists(d, "kind")) < 0) {
			rc = h5fail(&c, "cannot look up attribute 'kind' of '%s/%s'", gpath, l.v[i]);
			goto out;
		}
		if (has_kind > 0) {
			if ((rc = attr_read_str(&c, d, l.v[i], "kind", &kind)) != SNM_OK)
				goto out;
			if (strcmp(kind, "buffer") == 0)
				k = SNM_T_BUFFER;
			else if (strcmp(kind, "param") != 0) {
				rc = fail(&c, SNM_EIO, "group '%s' entry '%s' has kind '%.20s'", gpath, l.v[i], kind);
				goto out;
			}
			free(kind);
			kind = NULL;
		}
		if ((t = snm_params_add(p, l.v[i], rank, d32, k, &e)) == NULL) {
			rc = fail(&c, e.code, "%s", e.msg);
			goto out;
		}
		if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->x) < 0) {
			rc = h5fail(&c, "cannot read '%s/%s'", gpath, l.v[i]);
			goto out;
		}
		h5close(d);
		d = H5I_INVALID_HID;
	}
	*out = p;
	p = NULL;
out:
	free(kind);
	snm_params_free(p);
	h5close(d);
	h5close(g);
	h5close(fid);
	names_free(&l);
	ctx_end(&c);
	return rc;
}

int snm_store_has_group(const char *path, const char *gpath, int *out, snm_error *err)
{
	ctx c;
	hid_t fid;
	int rc;
	if (path == NULL || gpath == NULL || out == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_has_group: no path, group or out");
	ctx_begin(&c, path, err);
	if ((rc = run_open(&c, &fid)) == SNM_OK) {
		htri_t e = path_exists(fid, gpath);
		if (e < 0)
			rc = h5fail(&c, "cannot look up '%s'", gpath);
		else
			*out = e > 0;
		H5Fclose(fid);
	}
	ctx_end(&c);
	return rc;
}

int snm_store_seal(const char *path, snm_error *err)
{
	ctx c;
	unsigned char *image = NULL;
	size_t size = 0;
	int rc, fd = -1;
	if (path == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_store_seal: no path");
	ctx_begin(&c, path, err);
	if ((rc = image_read(&c, &image, &size)) != SNM_OK)
		goto out;
	if ((rc = snm_seal_write(image, size, err)) != SNM_OK) {
		snm_error_prefix(err, "%s", path);
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || write_all_fd(fd, image, SNM_SEAL_SIZE) < 0) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: cannot write its seal: %s", path, strerror(errno));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	free(image);
	ctx_end(&c);
	return rc;
}

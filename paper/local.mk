# paper: the paper stage -- `snm paper` regenerates every table (LaTeX, Markdown, CSV) and figure
# (PNG, PDF through gnuplot) of the paper from results/, as paper/tables.yaml describes them, and
# the paired comparisons (paired t intervals) of its claims; t-SNE (exact and Barnes-Hut) for the
# latent-space pictures.  Its code (a convenience library linked into `snm` and test_paper) sits
# beside the spec and the paper: paper.c drives it, table.c, paired.c and check.c (numbers beside
# their published references) make the tables through
# write.c, plot.c runs gnuplot and draws the learning curves, model.c opens a trained network,
# figures.c draws the reconstructions and t-SNE pictures (tsne.c); report.c makes the results table
# and curves of any pipeline (`snm report`) through write.c and plot.c.
noinst_LTLIBRARIES += paper/libpaper.la
paper_libpaper_la_SOURCES = paper/paper.c paper/paper.h paper/table.c paper/paired.c paper/check.c \
	paper/write.c \
	paper/plot.c paper/model.c paper/figures.c paper/tsne.c paper/tsne.h paper/report.c paper/report.h
paper_libpaper_la_CPPFLAGS = $(AM_CPPFLAGS) -DSNM_PKGDATADIR='"$(pkgdatadir)"'
pkgdata_DATA = paper/tables.yaml paper/paper.tex
EXTRA_DIST += paper/tables.yaml paper/paper.tex

# make paper [PAPER_RESULTS=results] [PAPER_OUT=paper/out] [PAPER_FLAGS='--only figure6']
PAPER_SPEC = $(srcdir)/paper/tables.yaml
PAPER_RESULTS = results
PAPER_OUT = paper/out
PAPER_FLAGS =
.PHONY: paper paper-pdf
paper: snm$(EXEEXT) $(pkglib_LTLIBRARIES)
	./snm paper --spec '$(PAPER_SPEC)' --results '$(PAPER_RESULTS)' --out '$(PAPER_OUT)' $(PAPER_FLAGS)

# make paper-tables: the tables committed under paper/tables/, regenerated from the committed
# results/ (run in the source tree, whose paths the tables name); tests/test_results.sh checks that
# they are up to date.
.PHONY: paper-tables
paper-tables: snm$(EXEEXT) $(pkglib_LTLIBRARIES)
	rm -f '$(srcdir)'/paper/tables/*.md '$(srcdir)'/paper/tables/*.csv '$(srcdir)'/paper/tables/*.tex
	cd '$(srcdir)' && '$(abs_top_builddir)/snm' paper --results results --out paper/tables --no-figures

# make paper-pdf: paper/paper.tex with every table and figure, compiled in $(PAPER_OUT) with
# latexmk, else pdflatex (twice, for the references); says so and fails when neither exists.
paper-pdf: paper
	@cp '$(srcdir)/paper/paper.tex' '$(PAPER_OUT)/paper.tex'
	@if command -v latexmk >/dev/null 2>&1; then \
	  cd '$(PAPER_OUT)' && latexmk -pdf -interaction=nonstopmode -halt-on-error paper.tex; \
	elif command -v pdflatex >/dev/null 2>&1; then \
	  cd '$(PAPER_OUT)' && pdflatex -interaction=nonstopmode -halt-on-error paper.tex >/dev/null \
	    && pdflatex -interaction=nonstopmode -halt-on-error paper.tex; \
	else \
	  echo "paper-pdf: neither latexmk nor pdflatex is installed, so $(PAPER_OUT)/paper.pdf was not made."; \
	  echo "paper-pdf: the tables and figures are in $(PAPER_OUT); on Debian: apt-get install latexmk texlive-latex-recommended"; \
	  exit 1; \
	fi
	@test -f '$(PAPER_OUT)/paper.pdf' && echo "paper-pdf: wrote $(PAPER_OUT)/paper.pdf"

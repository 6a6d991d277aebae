# plugins: one shared object each, exporting only snm_plugin_entry, linked against libsnm.
#   data/    idx (the MNIST family), synthetic (generated test images), cifar10 (with random crop
#            and flip for training reads)
#   models/  convnet (conv/fc stacks with tied decoders: the MNIST, CIFAR-10 and custom presets),
#            vibnet (the information-bottleneck paper's encoder and classifier, seed 003)
#   noise/   none, recon, random, semantic, denoise (the paper's rows), ladder, and vat and c2c
#            (the comparison regularizers, sharing the power iteration of noise/adversarial.h),
#            advladder (seed 002: the ladder of noise/ladder.h with adversarial input noise),
#            vib_hcp and vib_lp (seed 003's adversarial information-bottleneck regularizers, with
#            their discriminators and decoder: noise/vib.h)
# A new plugin: append it to pkglib_LTLIBRARIES and give it the four lines the others have.
# libsnm is handed to the linker itself (-Wl,...,-lsnm in PLUGIN_LDFLAGS: libtool puts it after the
# objects), past libtool: given src/core/libsnm.la, or -lsnm (which it resolves to that .la),
# libtool writes the build directory into each plugin as its RUNPATH, and relinks it with libdir's
# on make install.  A plugin's file is part of a run's code identity (src/run/identity.h), which
# must not depend on where the tree was built or whether it was installed.  A plugin needs no
# search path for libsnm: snm (or a test program) has it loaded when it opens the plugin, which
# records it as needed by its soname, libsnm.so.1.
PLUGIN_LDFLAGS = -module -avoid-version -no-undefined -export-symbols-regex '^snm_plugin_entry$$' \
	-Wl,-L$(top_builddir)/src/core/.libs,-lsnm
PLUGIN_LIBADD = $(GSL_LIBS) $(OPENBLAS_LIBS) $(ZLIB_LIBS) $(LIBM)
PLUGIN_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
BUILD_PLUGIN_PATH = $(abs_top_builddir)/plugins/models/.libs:$(abs_top_builddir)/plugins/noise/.libs:$(abs_top_builddir)/plugins/data/.libs

pkglib_LTLIBRARIES += plugins/data/idx.la plugins/data/synthetic.la plugins/data/cifar10.la
plugins_data_idx_la_SOURCES = plugins/data/idx.c
plugins_data_idx_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_data_idx_la_LIBADD = $(PLUGIN_LIBADD)
plugins_data_idx_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_data_synthetic_la_SOURCES = plugins/data/synthetic.c
plugins_data_synthetic_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_data_synthetic_la_LIBADD = $(PLUGIN_LIBADD)
plugins_data_synthetic_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_data_cifar10_la_SOURCES = plugins/data/cifar10.c
plugins_data_cifar10_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_data_cifar10_la_LIBADD = $(PLUGIN_LIBADD)
plugins_data_cifar10_la_CFLAGS = $(PLUGIN_CFLAGS)

pkglib_LTLIBRARIES += plugins/models/convnet.la
plugins_models_convnet_la_SOURCES = plugins/models/convnet.c
plugins_models_convnet_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_models_convnet_la_LIBADD = $(PLUGIN_LIBADD)
plugins_models_convnet_la_CFLAGS = $(PLUGIN_CFLAGS)

pkglib_LTLIBRARIES += plugins/noise/none.la plugins/noise/recon.la plugins/noise/random.la \
	plugins/noise/semantic.la plugins/noise/denoise.la plugins/noise/ladder.la \
	plugins/noise/vat.la plugins/noise/c2c.la plugins/noise/advladder.la
plugins_noise_none_la_SOURCES = plugins/noise/none.c
plugins_noise_none_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_none_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_none_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_recon_la_SOURCES = plugins/noise/recon.c
plugins_noise_recon_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_recon_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_recon_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_random_la_SOURCES = plugins/noise/random.c
plugins_noise_random_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_random_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_random_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_semantic_la_SOURCES = plugins/noise/semantic.c
plugins_noise_semantic_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_semantic_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_semantic_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_denoise_la_SOURCES = plugins/noise/denoise.c
plugins_noise_denoise_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_denoise_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_denoise_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_ladder_la_SOURCES = plugins/noise/ladder.c plugins/noise/ladder.h
plugins_noise_ladder_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_ladder_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_ladder_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_advladder_la_SOURCES = plugins/noise/advladder.c plugins/noise/ladder.h \
	plugins/noise/adversarial.h
plugins_noise_advladder_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_advladder_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_advladder_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_vat_la_SOURCES = plugins/noise/vat.c plugins/noise/adversarial.h
plugins_noise_vat_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_vat_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_vat_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_c2c_la_SOURCES = plugins/noise/c2c.c plugins/noise/adversarial.h
plugins_noise_c2c_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_c2c_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_c2c_la_CFLAGS = $(PLUGIN_CFLAGS)

pkglib_LTLIBRARIES += plugins/models/vibnet.la plugins/noise/vib_hcp.la plugins/noise/vib_lp.la
plugins_models_vibnet_la_SOURCES = plugins/models/vibnet.c
plugins_models_vibnet_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_models_vibnet_la_LIBADD = $(PLUGIN_LIBADD)
plugins_models_vibnet_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_vib_hcp_la_SOURCES = plugins/noise/vib_hcp.c plugins/noise/vib.h
plugins_noise_vib_hcp_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_vib_hcp_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_vib_hcp_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_noise_vib_lp_la_SOURCES = plugins/noise/vib_lp.c plugins/noise/vib.h
plugins_noise_vib_lp_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_noise_vib_lp_la_LIBADD = $(PLUGIN_LIBADD)
plugins_noise_vib_lp_la_CFLAGS = $(PLUGIN_CFLAGS)

# every plugin links libsnm (PLUGIN_LDFLAGS names it as -lsnm, which make cannot follow)
$(pkglib_LTLIBRARIES): src/core/libsnm.la

/* no_symbol.c: a shared object that is not an snm plugin (no snm_plugin_entry). */
__attribute__((visibility("default"))) int some_other_library_function(int x);
int some_other_library_function(int x) { return x + 1; }

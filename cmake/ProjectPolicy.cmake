# Project policy in one place: every target of ours links sparsity_policy.
add_library(sparsity_policy INTERFACE)
target_compile_features(sparsity_policy INTERFACE cxx_std_17)
target_compile_options(sparsity_policy INTERFACE -Wall -Wextra -Werror -Wno-error=deprecated-declarations)
target_compile_definitions(sparsity_policy INTERFACE
  QT_NO_CAST_FROM_ASCII
  QT_NO_CAST_TO_ASCII
  QT_NO_URL_CAST_FROM_STRING
  QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
  QT_STRICT_ITERATORS
  QT_USE_QSTRINGBUILDER)

# The checkout's paths go only where they are read (core's project and preset files, tests, benches): a define that
# names the checkout on every compile line would make each checkout's ccache entries differ.
set(SPARSITY_PATH_DEFINITIONS
  SPARSITY_SAMPLEDATA_DIR="${SPARSITY_SAMPLEDATA_DIR}"
  SPARSITY_RESOURCES_DIR="${SPARSITY_RESOURCES_DIR}")
target_compile_definitions(sparsity_policy INTERFACE
  $<$<NOT:$<IN_LIST:$<TARGET_PROPERTY:NAME>,sparsity_core;sparsity_widgets;sparsity_session;sparsity-explorer;sparsity-cli>>:${SPARSITY_PATH_DEFINITIONS}>)

option(SPARSITY_SANITIZE "Build with AddressSanitizer and UBSan" OFF)
if(SPARSITY_SANITIZE)
  # GCC 12 reports maybe-uninitialized inside libstdc++'s std::regex and std::function when ASan instruments them
  # at -O2 (a known false positive of the sanitizer build, not of our code); -Werror would stop the build on it.
  # UBSan's vptr check needs the RTTI of every polymorphic class it sees cast; Debian's LibTorch does not export
  # some (typeinfo for c10::DynamicType), so the link fails with it.
  target_compile_options(sparsity_policy INTERFACE -fsanitize=address,undefined -fno-sanitize=vptr
    -fno-omit-frame-pointer $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  target_link_options(sparsity_policy INTERFACE -fsanitize=address,undefined -fno-sanitize=vptr)
endif()

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
  QT_USE_QSTRINGBUILDER
  SPARSITY_SAMPLEDATA_DIR="${SPARSITY_SAMPLEDATA_DIR}"
  SPARSITY_RESOURCES_DIR="${SPARSITY_RESOURCES_DIR}")

option(SPARSITY_SANITIZE "Build with AddressSanitizer and UBSan" OFF)
if(SPARSITY_SANITIZE)
  target_compile_options(sparsity_policy INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(sparsity_policy INTERFACE -fsanitize=address,undefined)
endif()

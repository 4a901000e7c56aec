# The optional decoders of surgery/io (found once, used by the tool and the dataset tests):
# gzipped IDX files (Debian's Fashion-MNIST) need zlib (io/gzip.hpp), image folders need stb_image
# (io/image.hpp; Debian's libstb-dev ships the implementation as libstb). Without them those formats
# are refused with a message.
find_package(ZLIB QUIET)
find_path(SURGERY_STB_INCLUDE_DIR stb/stb_image.h)
find_library(SURGERY_STB_LIBRARY stb)

# surgery_use_codecs(TARGET): links what was found and defines SURGERY_WITH_ZLIB / SURGERY_WITH_STB.
function(surgery_use_codecs target)
  if(ZLIB_FOUND)
    target_link_libraries(${target} PRIVATE ZLIB::ZLIB)
    target_compile_definitions(${target} PRIVATE SURGERY_WITH_ZLIB=1)
  endif()
  if(SURGERY_STB_INCLUDE_DIR AND SURGERY_STB_LIBRARY)
    target_link_libraries(${target} PRIVATE ${SURGERY_STB_LIBRARY})
    target_compile_definitions(${target} PRIVATE SURGERY_WITH_STB=1)
  endif()
endfunction()

# Warnings are errors everywhere; sanitizers when KTSTR_SANITIZE is on.
add_compile_options(-Wall -Wextra -Werror -Wno-missing-field-initializers)
if(KTSTR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  # The guest agent is a static binary; ASan cannot link statically.
  set(KTSTR_BUILD_GUEST OFF CACHE BOOL "" FORCE)
endif()

# Cross toolchain for the bare-metal AArch64 firmware in sw/ (Debian's gcc-aarch64-linux-gnu).
# The Linux-targeted compiler is fine for freestanding code: the firmware passes -ffreestanding -nostdlib
# -nostdinc and links its own start-up code, libc and linker script.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(VP_CROSS_PREFIX aarch64-linux-gnu- CACHE STRING "Prefix of the AArch64 cross tools")
set(CMAKE_C_COMPILER ${VP_CROSS_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${VP_CROSS_PREFIX}gcc)
set(CMAKE_AR ${VP_CROSS_PREFIX}ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${VP_CROSS_PREFIX}ranlib CACHE FILEPATH "")
set(CMAKE_OBJCOPY ${VP_CROSS_PREFIX}objcopy CACHE FILEPATH "")
set(CMAKE_OBJDUMP ${VP_CROSS_PREFIX}objdump CACHE FILEPATH "")

# Compiler checks cannot link a program without the firmware's own start-up code.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Never pick up host libraries or headers.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

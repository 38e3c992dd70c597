# Helpers shared by every CMakeLists.txt of the project.

# Adds every immediate subdirectory of DIR that has a CMakeLists.txt, in name order, so that a new component or
# test folder needs no edit to a shared list.
function(vp_add_subdirectories dir)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}/${dir} ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*)
  list(SORT children)
  foreach(child IN LISTS children)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/${child}/CMakeLists.txt)
      add_subdirectory(${dir}/${child})
    endif()
  endforeach()
endfunction()

# Applies the project's warning flags to a target of project code.
function(vp_project_code target)
  target_compile_options(${target} PRIVATE ${VP_WARNINGS})
endfunction()

# vp_add_gtest(NAME SOURCES s1 s2 ... LIBS l1 l2 ... [LABELS l ...])
# A GoogleTest executable whose tests are discovered one ctest entry per test: SystemC elaborates once per
# process, so each test must run in a process of its own.
function(vp_add_gtest name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  vp_project_code(${name})
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${labels}" TIMEOUT 300)
endfunction()

// Anchor of the tests' precompiled headers (tests/CMakeLists.txt, SURGERY_PCH): compiles nothing of its own.

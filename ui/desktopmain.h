// The desktop client's entry point, called by `parley` when no mode is given.
#pragma once

namespace parley::ui {

// Parses the client's options (--profile NAME, --server URL), runs the application
// and returns its exit code.
int runDesktop(int argc, char **argv);

} // namespace parley::ui

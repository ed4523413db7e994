/**
 * How the plugin's interpreter is started: `<python> -m <entrypoint>`, as the daemon does
 * (dify-plugin-daemon `internal/core/local_runtime/subprocess.go`), except on Linux, where a few
 * lines of Python run first and ask the kernel to SIGKILL the plugin when the CLI dies (prctl
 * PR_SET_PDEATHSIG). Without that, a CLI killed outright (SIGKILL, an OOM kill) would leave the
 * plugin running unless the plugin notices by itself that it is orphaned, which only the SDK's
 * stdio mode does.
 *
 * The bootstrap then runs the entrypoint exactly as `-m` would: as `__main__`, with `sys.argv[0]`
 * the module's file, and the working directory first on `sys.path`. Where prctl is not available
 * (no ctypes, another libc) it carries on silently without it.
 */
export interface LaunchCommand {
  command: string;
  args: string[];
}

// argv after `-c`: the entrypoint module, then the CLI's pid. `-c` puts '' (the working directory)
// first on sys.path where `-m` puts its absolute path; PYTHONSAFEPATH (-P) puts neither.
const BOOTSTRAP = `
import os, sys
module, parent = sys.argv[1], int(sys.argv[2])
del sys.argv[1:]
try:
    import ctypes, signal
    if ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)  # the CLI died before prctl took effect
        except OSError:
            pass
except Exception:
    pass
if sys.path and sys.path[0] == '':
    sys.path[0] = os.getcwd()
import importlib.util, runpy
try:
    found = importlib.util.find_spec(module) is not None
except Exception:
    found = True  # let run_module report it
if not found:
    sys.stderr.write(f"{sys.executable}: No module named {module}\\n")
    sys.exit(1)
runpy.run_module(module, run_name='__main__', alter_sys=True)
`.trim();

/** The command line that runs `entrypoint` with `python`, on `platform`, as a child of `parentPid`. */
export function pluginCommand(
  python: string,
  entrypoint: string,
  platform: NodeJS.Platform = process.platform,
  parentPid = process.pid,
): LaunchCommand {
  if (platform !== 'linux') return { command: python, args: ['-m', entrypoint] };
  return { command: python, args: ['-c', BOOTSTRAP, entrypoint, String(parentPid)] };
}

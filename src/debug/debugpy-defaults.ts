// `run --debugpy`'s defaults, apart from debugpy.ts so that the command line's help can name
// them without loading it. templates/common/.vscode/launch.json repeats them (a test checks).

/** debugpy's own default port, which VS Code's attach configurations use too. */
export const DEBUGPY_DEFAULT_PORT = 5678;
/** Whoever connects to debugpy can run code in the plugin: only this machine may. */
export const DEBUGPY_HOST = '127.0.0.1';
/** The attach configuration `init` writes to .vscode/launch.json; `run --debugpy` names it. */
export const VSCODE_ATTACH_NAME = 'Attach to plugin (debugpy)';

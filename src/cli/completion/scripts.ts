/**
 * The scripts `dify completion <shell>` prints. Each is a thin caller of `dify __complete <words>`,
 * which answers from the program tree (./candidates.ts): one logic for four shells, testable in
 * process, and never stale, since the installed CLI answers for itself, as cobra's completions do
 * for the Go CLI. The price is a CLI start per TAB, some 50 ms (docs/performance.md), below what a
 * person notices. `__complete` answers with `value<TAB>description` lines, then a directive line:
 * `:words` (those values only), `:dirs` (directory names), `:files [ext...]` (file names, only
 * those with one of the extensions when given, and directories to reach them).
 *
 * Each script registers for both names the package installs, `dify` and `dify-plugin`, and runs
 * the one typed.
 */

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

/** Bash 4.1+ (macOS's 3.2 lacks compopt and mapfile), with or without the bash-completion package. */
const BASH = `# bash completion for dify and dify-plugin: source this file, or save it as
# ~/.local/share/bash-completion/completions/dify (see: dify completion --help).
_dify_complete() {
    local -a words=() lines=()
    local i word joined=0
    # bash splits --flag=value at '=' (COMP_WORDBREAKS); dify wants the word whole.
    for ((i = 1; i <= COMP_CWORD; i++)); do
        word=\${COMP_WORDS[i]}
        if [[ $word == = && \${#words[@]} -gt 0 && \${words[\${#words[@]}-1]} == -* ]]; then
            words[\${#words[@]}-1]+='='
            joined=1
        elif ((joined)); then
            words[\${#words[@]}-1]+=$word
            joined=0
        else
            words+=("$word")
        fi
    done
    local cur=\${COMP_WORDS[COMP_CWORD]}
    [[ $cur == = ]] && cur=''
    mapfile -t lines < <("\${COMP_WORDS[0]}" __complete "\${words[@]}" 2>/dev/null)
    ((\${#lines[@]})) || return
    local last=$((\${#lines[@]} - 1))
    local directive=\${lines[last]}
    unset 'lines[last]'
    COMPREPLY=()
    case $directive in
    :words)
        local prefix=''
        # Only the part after '=' is bash's current word.
        [[ $cur != "\${words[\${#words[@]}-1]}" ]] && prefix=\${words[\${#words[@]}-1]%=*}=
        for word in "\${lines[@]}"; do
            word=\${word%%$'\\t'*}
            COMPREPLY+=("\${word#"$prefix"}")
        done
        ;;
    :dirs)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        ;;
    :files)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    :files\\ *)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(
            compgen -d -- "$cur"
            for word in \${directive#:files }; do compgen -f -X "!*.$word" -- "$cur"; done
        )
        ;;
    esac
}
complete -F _dify_complete dify dify-plugin
`;

const ZSH = `#compdef dify dify-plugin
# zsh completion for dify and dify-plugin: save as _dify in a directory of $fpath, or source it
# after compinit (see: dify completion --help).
_dify() {
    local -a lines described plain
    local line directive
    lines=("\${(@f)$(\${words[1]} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
    directive=\${lines[-1]}
    [[ $directive == :* ]] || return 1
    # --output_path=<TAB>: complete what follows '='.
    [[ $directive != :words && $PREFIX == -*=* ]] && compset -P '*='
    case $directive in
    :words)
        # value<TAB>description; _describe wants value:description, with the value's ':' escaped
        for line in "\${(@)lines[1,-2]}"; do
            if [[ $line == *$'\\t' ]]; then
                plain+=("\${line%%$'\\t'*}")
            else
                described+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
            fi
        done
        (($#described)) && _describe -t commands dify described
        (($#plain)) && compadd -a plain
        ;;
    :dirs) _files -/ ;;
    :files) _files ;;
    :files\\ *)
        # space-separated patterns: a lone *.(ext) would read as glob qualifiers
        local -a extensions=(\${=directive#:files })
        _files -g "\${(j: :)extensions/#/*.}"
        ;;
    esac
}
if [[ \${funcstack[1]} == _dify ]]; then
    _dify "$@"
else
    compdef _dify dify dify-plugin
fi
`;

const FISH = `# fish completion for dify and dify-plugin: save as
# ~/.config/fish/completions/dify.fish (see: dify completion --help).
function __dify_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l lines ($words[1] __complete $words[2..-1] "$current" 2>/dev/null)
    set -q lines[1]; or return
    set -l directive $lines[-1]
    set -e lines[-1]
    switch $directive
        case :words
            printf '%s\\n' $lines
        case :dirs
            __fish_complete_directories "$current" ''
        case :files
            __fish_complete_path "$current"
        case ':files *'
            set -l extensions (string split ' ' -- (string replace ':files ' '' -- $directive))
            # whole lines (-e) ending in / or an extension, before the tab and description
            set -l pattern '(?:/|\\.(?:'(string join '|' -- $extensions)'))(?:\\t.*)?$'
            __fish_complete_path "$current" | string match -re -- $pattern
    end
end
complete -c dify -f -k -a '(__dify_complete)'
complete -c dify-plugin -f -k -a '(__dify_complete)'
`;

const POWERSHELL = `# PowerShell completion for dify and dify-plugin: add
#   dify completion powershell | Out-String | Invoke-Expression
# to your $PROFILE (see: dify completion --help).
Register-ArgumentCompleter -Native -CommandName 'dify', 'dify-plugin' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements |
        Where-Object { $_.Extent.StartOffset -lt $cursorPosition } |
        ForEach-Object { $_.Extent.Text })
    $program = $words[0]
    $arguments = @($words | Select-Object -Skip 1)
    # An empty argument may never reach the program (PowerShell before 7.3, npm's dify.cmd):
    # dify __complete reads '""' as the empty word.
    if ($wordToComplete -eq '') { $arguments += '""' }
    $lines = @(& $program __complete @arguments 2>$null)
    # Nothing returned: PowerShell completes file names itself, which :files and :dirs ask for.
    if ($lines.Count -eq 0 -or $lines[-1] -ne ':words') { return }
    $lines | Select-Object -SkipLast 1 | ForEach-Object {
        $value, $description = $_ -split "\`t", 2
        if (-not $description) { $description = $value }
        [System.Management.Automation.CompletionResult]::new($value, $value, 'ParameterValue', $description)
    }
}
`;

export const SCRIPTS: Record<Shell, string> = { bash: BASH, zsh: ZSH, fish: FISH, powershell: POWERSHELL };

/** The end of `dify completion --help`. */
export const INSTALL_HELP = `
Install (then start a new shell; the script completes both dify and dify-plugin):
  bash        dify completion bash > ~/.local/share/bash-completion/completions/dify
              (read by the bash-completion package; without it, put
               source <(dify completion bash)  in ~/.bashrc)
  zsh         dify completion zsh > ~/.zfunc/_dify
              (with  fpath=(~/.zfunc $fpath); autoload -U compinit && compinit  in ~/.zshrc)
  fish        dify completion fish > ~/.config/fish/completions/dify.fish
  powershell  put  dify completion powershell | Out-String | Invoke-Expression  in $PROFILE
`;

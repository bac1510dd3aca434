// `dstream completion`: a bash completion script (source it from ~/.bashrc).
import { commonOptions } from './options.js'
import type { Definition } from '../core/types.js'

export function completionScript (defs: Definition[]): string {
  const names = defs.map(d => d.name).join(' ')
  const cases = defs.map(d => {
    const flags = Object.keys({ ...d.options, ...commonOptions(d) }).map(k => '--' + k).concat('--help').join(' ')
    return `    ${d.name}) opts="${flags}" ;;`
  }).join('\n')
  return `# dstream bash completion: eval "$(dstream completion)"
_dstream() {
  local cur=\${COMP_WORDS[COMP_CWORD]} i op="" opts=""
  local ops="${names}"
  case "\${COMP_WORDS[0]}" in dstream-*) op=\${COMP_WORDS[0]#dstream-} ;; esac
  for ((i = COMP_CWORD - 1; i >= 0; i--)); do
    case "\${COMP_WORDS[i]}" in
      then|dstream)
        if [ $((i + 1)) -eq "$COMP_CWORD" ]; then COMPREPLY=( $(compgen -W "$ops" -- "$cur") ); return; fi
        op=\${COMP_WORDS[i+1]}; break ;;
    esac
  done
  case "$op" in
${cases}
  esac
  if [[ $cur == -* ]]; then COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else COMPREPLY=( $(compgen -f -W then -- "$cur") ); fi
}
complete -o default -F _dstream dstream ${defs.map(d => 'dstream-' + d.name).join(' ')}
`
}

import type { AnchorHTMLAttributes } from 'preact'
import { navigate } from '../router.js'

/** An ordinary link (open in a new tab still works) that navigates in place on a plain click. */
export function Link (props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (e: MouseEvent): void => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    e.preventDefault()
    navigate(props.href)
  }
  return <a {...props} onClick={onClick} />
}

/** Elements of the devices section; text always as textContent (device names come from whoever provisioned them). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string } = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  if (props.className) e.className = props.className
  if (props.text !== undefined) e.textContent = props.text
  return e
}

export function button(text: string, className: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', { className: `log-btn ${className}`, text })
  b.type = 'button'
  b.addEventListener('click', onClick)
  return b
}

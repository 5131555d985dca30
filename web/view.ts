/**
 * The page's view, mounted: its own chunk, with Svelte's rendering and the
 * components, loaded only when the view is drawn (web/main.ts), not in the
 * page's first load, which carries what reaching the relay needs.
 */
import { mount } from 'svelte'
import type { ComponentProps } from 'svelte'
import App from './App.svelte'

export type ViewProps = ComponentProps<typeof App>

export function drawView (target: HTMLElement, props: ViewProps): void {
  target.replaceChildren()
  mount(App, { target, props })
}

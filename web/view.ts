/**
 * The page's view, mounted: its own chunk, with Svelte's rendering and the
 * components, loaded only when the view is drawn (web/main.ts), not in the
 * page's first load, which carries what reaching the relay needs.
 */
import { mount } from 'svelte'
import type { ComponentProps } from 'svelte'
import { createSubscriber } from 'svelte/reactivity'
import App from './App.svelte'
import type { FieldWatch } from './watched-fields.ts'

export type ViewProps = ComponentProps<typeof App>

/**
 * Reading a watched field (web/watched-fields.ts) inside a component, a
 * `$derived` or an effect makes it run again when the field changes.
 */
function readReactively<K extends string> (watch: FieldWatch<K>): void {
  const subscribers = new Map<K, () => void>()
  watch.onRead = (key) => {
    let subscribe = subscribers.get(key)
    if (subscribe === undefined) {
      subscribe = createSubscriber(update => watch.on(key, update))
      subscribers.set(key, subscribe)
    }
    subscribe()
  }
}

export function drawView (target: HTMLElement, props: ViewProps): void {
  readReactively(props.network.watch)
  target.replaceChildren()
  mount(App, { target, props })
}

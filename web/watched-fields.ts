/**
 * State that the page's first code writes before any framework has loaded:
 * plain fields that tell who listens when they change. The view makes their
 * reads reactive when it loads (web/view.ts, with Svelte's
 * `createSubscriber`), so the page's first load carries no Svelte: its
 * runtime is 43 kB the tab would compile before it could reach its relay
 * (docs/benchmarks.md).
 *
 * A field changes when it is assigned a value that is not `Object.is` the
 * one it holds (as with Svelte's `$state.raw`): objects and arrays are
 * replaced, never changed in place.
 */

/** What a state made of watched fields offers its readers. */
export interface FieldWatch<K extends string> {
  /** Told of every field as it is read (set by the view, to make the read reactive). */
  onRead: ((key: K) => void) | undefined
  /** Calls `listener` each time field `key` changes; returns how to stop. */
  on: (key: K, listener: () => void) => () => void
}

/** The fields of `T`, watched. */
export type Watched<T> = T & { readonly watch: FieldWatch<keyof T & string> }

const VALUES = Symbol('values')
const LISTENERS = Symbol('listeners')

interface Holder {
  watch: FieldWatch<string>
  [VALUES]: Record<string, unknown>
  [LISTENERS]: Map<string, Set<() => void>>
}

/**
 * A class whose instances hold the fields `initial()` gives (called once per
 * instance, so each has its own arrays and objects), each watched. Extend it
 * to add methods: `class S extends watchedFields<Fields>(() => ({ ... })) {}`.
 */
export function watchedFields<T extends object> (initial: () => T): new () => Watched<T> {
  class Fields implements Holder {
    readonly [VALUES]: Record<string, unknown> = initial() as Record<string, unknown>
    readonly [LISTENERS] = new Map<string, Set<() => void>>()
    readonly watch: FieldWatch<string> = {
      onRead: undefined,
      on: (key, listener) => {
        const listeners = this[LISTENERS].get(key) ?? new Set()
        this[LISTENERS].set(key, listeners)
        listeners.add(listener)
        return () => { listeners.delete(listener) }
      }
    }
  }
  for (const key of Object.keys(initial())) {
    Object.defineProperty(Fields.prototype, key, {
      enumerable: true,
      get (this: Holder): unknown {
        this.watch.onRead?.(key)
        return this[VALUES][key]
      },
      set (this: Holder, value: unknown) {
        if (Object.is(this[VALUES][key], value)) return
        this[VALUES][key] = value
        for (const listener of [...this[LISTENERS].get(key) ?? []]) listener()
      }
    })
  }
  return Fields as unknown as new () => Watched<T>
}

/**
 * IndexedDB, as the page uses it (the room's transcript, model copies on a
 * page that is not a secure context): requests as promises, a database
 * opened with its stores made on first use, and one request run in a
 * transaction that is done when the transaction is.
 */

/** A request's result as a promise. */
export async function requestResult<T> (request: IDBRequest<T>): Promise<T> {
  return await new Promise((resolve, reject) => {
    request.onsuccess = () => { resolve(request.result) }
    request.onerror = () => { reject(request.error ?? new Error('IndexedDB request failed')) }
  })
}

/** Opens database `name`, `upgrade` making its stores the first time (or at a new `version`). */
export async function openDatabase (factory: IDBFactory, name: string, version: number, upgrade: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  const request = factory.open(name, version)
  request.onupgradeneeded = () => { upgrade(request.result) }
  return await requestResult(request)
}

/** Runs `act` on `store` in a transaction of its own; resolves with its result once the transaction is complete. */
export async function inTransaction<T> (db: IDBDatabase, store: string, mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const transaction = db.transaction(store, mode)
    const request = act(transaction.objectStore(store))
    transaction.oncomplete = () => { resolve(request.result as T) }
    transaction.onerror = () => { reject(transaction.error ?? new Error('IndexedDB failed')) }
    transaction.onabort = () => { reject(transaction.error ?? new Error('IndexedDB aborted')) }
  })
}

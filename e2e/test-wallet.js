// An EIP-1193 wallet injected into the page by Playwright (page.addInitScript({ path })).
// It announces itself over EIP-6963 and as window.ethereum; signing calls back into Node
// (page.exposeFunction) where an anvil dev key signs with viem. Plain JS on purpose: a
// function passed from a tsx-run script would carry tsx's `__name` helper into the page.
(() => {
  if (window.__testWallet) return;
  const STORAGE_KEY = '__testWalletConnected';
  const listeners = new Map();
  let rejectNext = false;
  let chainId = null;
  let address = null;

  const emit = (event, value) => (listeners.get(event) || []).slice().forEach((fn) => fn(value));
  const rpcError = (code, message) => Object.assign(new Error(message), { code });
  const connected = () => window.localStorage.getItem(STORAGE_KEY) === '1';

  async function config() {
    if (!address) {
      const c = await window.__testWalletConfig();
      address = c.address;
      chainId = chainId || c.chainId;
    }
    return { address, chainId };
  }

  function takeRejection() {
    if (!rejectNext) return;
    rejectNext = false;
    throw rpcError(4001, 'User rejected the request.');
  }

  async function request({ method, params = [] }) {
    const c = await config();
    switch (method) {
      case 'eth_requestAccounts':
        window.localStorage.setItem(STORAGE_KEY, '1');
        emit('connect', { chainId: c.chainId });
        return [c.address];
      case 'eth_accounts':
        return connected() ? [c.address] : [];
      case 'eth_chainId':
        return c.chainId;
      case 'net_version':
        return String(parseInt(c.chainId, 16));
      case 'wallet_switchEthereumChain': {
        const wanted = params[0] && params[0].chainId;
        if (wanted !== c.chainId) {
          chainId = wanted;
          emit('chainChanged', wanted);
        }
        return null;
      }
      case 'wallet_addEthereumChain':
        return null;
      case 'wallet_requestPermissions':
      case 'wallet_getPermissions':
        return [{ parentCapability: 'eth_accounts' }];
      case 'wallet_revokePermissions':
        window.localStorage.removeItem(STORAGE_KEY);
        emit('accountsChanged', []);
        return null;
      case 'personal_sign':
        takeRejection();
        return window.__testWalletSign({ kind: 'message', data: params[0] });
      case 'eth_signTypedData_v4':
        takeRejection();
        return window.__testWalletSign({
          kind: 'typedData',
          data: typeof params[1] === 'string' ? params[1] : JSON.stringify(params[1]),
        });
      case 'eth_sendTransaction':
      case 'eth_sign':
        throw rpcError(4200, `${method} is not supported by the test wallet`);
      default:
        return window.__testWalletRpc(method, params);
    }
  }

  const provider = {
    isTestWallet: true,
    request,
    on(event, fn) {
      listeners.set(event, [...(listeners.get(event) || []), fn]);
      return provider;
    },
    removeListener(event, fn) {
      listeners.set(
        event,
        (listeners.get(event) || []).filter((f) => f !== fn),
      );
      return provider;
    },
  };

  window.__testWallet = {
    provider,
    rejectNext() {
      rejectNext = true;
    },
    setChainId(hex) {
      chainId = hex;
      emit('chainChanged', hex);
    },
  };
  window.ethereum = provider;

  const icon =
    'data:image/svg+xml;base64,' +
    btoa(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#7c5cff"/></svg>',
    );
  const detail = Object.freeze({
    info: Object.freeze({
      uuid: '6f1c9d3e-1111-4a1b-9c2d-00000000a001',
      name: 'Test Wallet',
      icon,
      rdns: 'dev.agentmint.testwallet',
    }),
    provider,
  });
  const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail }));
  window.addEventListener('eip6963:requestProvider', announce);
  announce();
})();

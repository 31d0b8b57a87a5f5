"""neurolab lab: your network on a page in the browser, served by your own Python.

Draw a digit (or type an input) and see every layer's neurons light up; click a neuron for
its backpropagation, BP1-BP4 on that input (``net.explain``); train from the page, or watch
a ``fit`` you started, with loss and accuracy curves and a stop button::

    lab = nl.lab.serve(net, data=(X_test, y_test), train_data=(X, y))
    print(lab.url)                                   # open it in a browser
    net.fit(X, y, epochs=3, callbacks=[lab.watch()])  # the page follows this fit
    lab.close()

or, for a saved model, ``neurolab lab mnist-mlp.npz`` on the command line. The HTTP API,
the pixel-scaling rule and the security notes are in ``docs/lab.md``. Standard library and
NumPy only.

Modules: ``server`` (``serve``, ``LabServer``: HTTP and the checks at the door), ``hosts``
(which ``Host`` and ``Origin`` headers are the server's own), ``files`` (the page's files),
``api`` (the endpoints, JSON in and out), ``fields`` (checks of request fields), ``model``
(what the page sees of a network: layers, input scaling, forward passes), ``training``
(snapshots for requests while the network trains, progress, ``Watch``, the training
thread). The page itself is ``static/index.html``.
"""

from .server import LabServer, serve
from .training import Watch

__all__ = ["LabServer", "Watch", "serve"]
